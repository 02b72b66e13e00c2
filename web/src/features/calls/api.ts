import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api, data } from '@/lib/api/client';
import type { components, operations } from '@/lib/api/schema';
import { keys } from '@/lib/query-keys';

export type CallSummary = components['schemas']['CallSummary'];
/** GET /api/v1/calls: `nextCursor` (keyset paging) or page/total (page-number mode). */
export type CallsPage = components['schemas']['CallPage'];
/** GET /api/v1/calls/{id}: the detail with per-turn timing, lead, SMS, webhook events and raw provider events. */
export type CallDetail = components['schemas']['CallDetail'];
/** The list's filters as the OpenAPI document types them (URL search params are narrowed into this). */
export type CallsQuery = NonNullable<operations['listCalls']['parameters']['query']>;

export const PAGE_SIZE = 25;

/** One page of the call list through the typed client. */
export async function fetchCalls(query: CallsQuery, signal?: AbortSignal): Promise<CallsPage> {
  return data(await api.GET('/api/v1/calls', { params: { query }, signal }));
}

export function useCalls(tenantId: string, query: CallsQuery) {
  return useInfiniteQuery({
    queryKey: [...keys.calls(tenantId), 'list', query],
    initialPageParam: { cursor: undefined as string | undefined, page: 1 },
    queryFn: ({ pageParam, signal }) => fetchCalls({ ...query, pageSize: PAGE_SIZE, cursor: pageParam.cursor }, signal),
    getNextPageParam: (last, _all, param) => (last.nextCursor ? { cursor: last.nextCursor, page: param.page + 1 } : undefined),
    placeholderData: keepPreviousData,
  });
}

export function useCall(tenantId: string, callId: string) {
  return useQuery({
    queryKey: keys.call(tenantId, callId),
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/calls/{id}', { params: { path: { id: callId } }, signal })),
  });
}

/** The CSV export of the filtered set (tenant time zone, streamed by the host). */
export function exportHref(query: CallsQuery): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return `/api/v1/calls/export.csv${s ? `?${s}` : ''}`;
}
