import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { localDate } from '../format/format';
import { request } from './client';
import { keys } from '../query-keys';

type Num = number | string | null;

/** GET /api/v1/analytics (dashboard contract): per-day counts and totals computed in the database. */
export interface Analytics {
  from: string;
  to: string;
  timeZone: string;
  days: { date: string; calls: number; answered: number; missed: number; afterHours: number; emergency: number; urgent: number; routine: number; leads: number; smsSent: number }[];
  totals: {
    calls: number;
    answered: number;
    missed: number;
    afterHours: number;
    leads: number;
    leadsBooked: number;
    smsSent: number;
    averageDurationSeconds: Num;
    p95DurationSeconds: Num;
    latencyP50Ms: Num;
    latencyP95Ms: Num;
    costTotal: Num;
  };
  urgencyMix: { emergency: number; urgent: number; routine: number };
  endedReasons: { reason: string; count: number }[];
}

/** Analytics for the tenant's local days from `daysBack` days ago to today (inclusive), fixed when the page opened. */
export function useAnalytics(tenantId: string, timeZone: string, daysBack: number) {
  const [now] = useState(() => new Date());
  const range = { from: localDate(now, timeZone, daysBack), to: localDate(now, timeZone), tz: timeZone };
  return useQuery({
    queryKey: [...keys.analytics(tenantId), range],
    queryFn: ({ signal }) => request<Analytics>('GET', '/api/v1/analytics', { query: range, signal }),
    staleTime: 30_000,
  });
}
