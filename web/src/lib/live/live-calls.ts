import { api, data } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';
import { keys } from '@/lib/query-keys';

/** GET /api/v1/calls/live: the calls in progress, newest first (at most 100), and `total`, how many there are in all. */
export type LiveCalls = components['schemas']['LiveCallsDto'];

/**
 * The query key of the calls in progress: under `keys.calls`, so a call event (which refreshes the call lists) refreshes
 * it too.
 */
export const liveCallsKey = (tenantId: string) => [...keys.calls(tenantId), 'live'] as const;

/**
 * The calls in progress, counted by the host over every call: the newest page of the call list only knew about its own
 * rows, so a call in progress older than the page (the 8 newest on the overview, 50 on Live) was not counted.
 */
export async function fetchLiveCalls(signal?: AbortSignal): Promise<LiveCalls> {
  return data(await api.GET('/api/v1/calls/live', { signal }));
}
