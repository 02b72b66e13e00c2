import { z } from 'zod';
import { startOfDayInZone } from '@/lib/format/format';
import type { CallsQuery } from './api';

/** The calls list's filters, kept in the URL (validated with zod so a hand-edited link cannot break the page). */
export const callsSearchSchema = z.object({
  range: z.enum(['today', '7d', '30d', '90d', 'all']).optional().catch(undefined),
  status: z.string().max(40).optional().catch(undefined),
  urgency: z.enum(['emergency', 'urgent', 'soon', 'routine']).optional().catch(undefined),
  channel: z.enum(['phone', 'web']).optional().catch(undefined),
  direction: z.enum(['inbound', 'outbound']).optional().catch(undefined),
  number: z.string().max(40).optional().catch(undefined),
  hasRecording: z.boolean().optional().catch(undefined),
  duration: z.enum(['lt1', '1to5', 'gt5']).optional().catch(undefined),
  endedReason: z.string().max(80).optional().catch(undefined),
  // Longer than the API's 200 is kept, so the page shows the API's refusal instead of silently dropping the search.
  q: z.string().max(2000).optional().catch(undefined),
});
export type CallsSearch = z.infer<typeof callsSearchSchema>;

const RANGE_DAYS = { today: 0, '7d': 6, '30d': 29, '90d': 89 } as const;

/** The longest search the API accepts (CallFilter.MaxQueryLength). */
export const MAX_SEARCH_LENGTH = 200;

/** The API query for the filters (typed by the OpenAPI document): the date preset starts at midnight in the tenant's zone. */
export function toCallsQuery(s: CallsSearch, timeZone: string, now: Date = new Date()): CallsQuery {
  const from = s.range && s.range !== 'all' ? startOfDayInZone(now, timeZone, RANGE_DAYS[s.range]) : undefined;
  const [minDuration, maxDuration] =
    s.duration === 'lt1' ? [undefined, 60] : s.duration === '1to5' ? [60, 300] : s.duration === 'gt5' ? [300, undefined] : [undefined, undefined];
  // Only the digits filter; a value without any (e.g. "abc") goes as typed so the API refuses it and the page says why,
  // instead of listing every call under a filter that looks applied.
  const typed = s.number?.trim();
  const digits = typed?.replace(/[^0-9]/g, '') || typed;
  return {
    from,
    status: s.status,
    urgency: s.urgency === 'soon' ? 'urgent' : s.urgency, // the list shows stored `soon`; the API filter says `urgent`
    channel: s.channel,
    direction: s.direction,
    number: digits || undefined,
    hasRecording: s.hasRecording,
    minDuration,
    maxDuration,
    endedReason: s.endedReason,
    q: s.q?.trim() || undefined,
  };
}
