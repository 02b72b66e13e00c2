import { queryOptions, useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, data } from './api/client';
import type { components } from './api/schema';
import { keys } from './query-keys';
import { currentLocale } from './i18n';
import type { Locale } from './format/format';

export type SessionInfo = components['schemas']['SessionInfo'];

/** The signed-in session (`GET /api/v1/auth/session`); a 401 rejects, which the layout turns into a redirect. */
export const sessionQuery = queryOptions({
  queryKey: keys.session,
  queryFn: async ({ signal }) => data(await api.GET('/api/v1/auth/session', { signal })),
  staleTime: 60_000,
});

export function useSession(): SessionInfo {
  return useSuspenseQuery(sessionQuery).data;
}

/** The tenant acted for; the authenticated layout guarantees there is one. */
export function useTenantId(): string {
  return useSession().tenant?.id ?? 'none';
}

/**
 * The tenant's IANA time zone from the studio settings, and whether it is settled: `settled` is false while the studio
 * settings load (the zone is then the browser's), true once they answered or failed (the browser's zone stays).
 * Queries whose key holds the zone (analytics, audit ranges) wait for `settled`, or they would be fetched twice and the
 * page would show the browser zone's figures, then blank while the tenant zone's load.
 */
export function useTenantTimeZone(): { timeZone: string; settled: boolean } {
  const tenantId = useTenantId();
  const studio = useQuery({
    queryKey: keys.studio(tenantId),
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/studio', { signal })),
    staleTime: 5 * 60_000,
  });
  return { timeZone: studio.data?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone, settled: !studio.isPending };
}

/** Locale + tenant time zone, the pair every formatter needs; `zoneSettled` as in {@link useTenantTimeZone}. */
export function useFormat(): { locale: Locale; timeZone: string; zoneSettled: boolean } {
  useTranslation(); // re-render on language change
  const zone = useTenantTimeZone();
  return { locale: currentLocale(), timeZone: zone.timeZone, zoneSettled: zone.settled };
}
