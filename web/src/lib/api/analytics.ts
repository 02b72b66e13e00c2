import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { localDate } from '../format/format';
import { api, data } from './client';
import type { components } from './schema';
import { keys } from '../query-keys';

/** GET /api/v1/analytics: per-day counts and totals computed in the database. */
export type Analytics = components['schemas']['AnalyticsDto'];

/**
 * Analytics for the tenant's local days from `daysBack` days ago to today (inclusive), fixed when the page opened.
 * Not fetched until `zoneSettled` (the tenant's zone is known: see `useTenantTimeZone`); a new range keeps the previous
 * figures on screen until its own arrive, so the page never collapses to "Loading…" once drawn.
 */
export function useAnalytics(tenantId: string, timeZone: string, daysBack: number, zoneSettled = true) {
  const [now] = useState(() => new Date());
  const range = { from: localDate(now, timeZone, daysBack), to: localDate(now, timeZone), tz: timeZone };
  return useQuery({
    queryKey: [...keys.analytics(tenantId), range],
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/analytics', { params: { query: range }, signal })),
    staleTime: 30_000,
    enabled: zoneSettled,
    placeholderData: keepPreviousData,
  });
}
