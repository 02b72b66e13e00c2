import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { request } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';
import { keys } from '@/lib/query-keys';
import type { Turn } from '@/lib/live/events';

export type CallSummary = components['schemas']['CallSummary'] & { direction?: string | null; hasRecording?: boolean | null };

/** GET /api/v1/calls: `nextCursor` (keyset paging, contract) or page/total (older hosts). */
export interface CallsPage {
  items: CallSummary[];
  nextCursor?: string | null;
  page?: number;
  pageSize?: number;
  total?: number;
}

type Sms = components['schemas']['SmsDto'];
type Lead = components['schemas']['LeadDto'] & { status?: string | null; notes?: string | null };

export interface WebhookEventItem {
  id: string;
  type: string;
  createdAt: string;
  status?: string | null;
  deliveryStatus?: string | null;
}
export interface RawEventItem {
  id: string;
  type: string;
  receivedAt: string;
  body?: unknown;
}

/** GET /api/v1/calls/{id}: the detail with per-turn timing, lead, SMS, webhook events and raw provider events. */
export type CallDetail = Omit<components['schemas']['CallDetail'], 'transcript' | 'lead' | 'sms'> & {
  transcript: Turn[];
  lead: Lead | null;
  sms: Sms[];
  direction?: string | null;
  webhookEvents?: WebhookEventItem[] | null;
  rawEvents?: RawEventItem[] | null;
};

export const PAGE_SIZE = 25;

export function useCalls(tenantId: string, query: Record<string, string | number | boolean | undefined>) {
  return useInfiniteQuery({
    queryKey: [...keys.calls(tenantId), 'list', query],
    initialPageParam: { cursor: undefined as string | undefined, page: 1 },
    queryFn: ({ pageParam, signal }) =>
      request<CallsPage>('GET', '/api/v1/calls', { query: { ...query, pageSize: PAGE_SIZE, cursor: pageParam.cursor, page: pageParam.cursor ? undefined : pageParam.page }, signal }),
    getNextPageParam: (last, _all, param) => {
      if (last.nextCursor) return { cursor: last.nextCursor, page: param.page + 1 };
      if (last.nextCursor === undefined && last.total !== undefined && param.page * PAGE_SIZE < last.total) return { cursor: undefined, page: param.page + 1 };
      return undefined;
    },
    placeholderData: keepPreviousData,
  });
}

export function useCall(tenantId: string, callId: string) {
  return useQuery({
    queryKey: keys.call(tenantId, callId),
    queryFn: ({ signal }) => request<CallDetail>('GET', `/api/v1/calls/${encodeURIComponent(callId)}`, { signal }),
  });
}

/** The CSV export of the filtered set (tenant time zone, streamed by the host). */
export function exportHref(query: Record<string, string | number | boolean | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return `/api/v1/calls/export.csv${s ? `?${s}` : ''}`;
}
