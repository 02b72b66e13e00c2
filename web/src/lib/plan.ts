import { useQuery } from '@tanstack/react-query';
import { request } from './api/client';
import type { components } from './api/schema';
import { keys } from './query-keys';

/** The tenant's plan (`GET /api/v1/plan`): its id, names, limits and `features`. */
export type CurrentPlan = components['schemas']['CurrentPlan'];

/**
 * The tenant's plan, one cache entry for every page that reads it (plan page, API keys, webhooks, widget, numbers), so
 * a plan change refreshes them all at once.
 */
export function useCurrentPlan(tenantId: string) {
  return useQuery({ queryKey: keys.plan(tenantId), queryFn: ({ signal }) => request<CurrentPlan>('GET', '/api/v1/plan', { signal }) });
}

/**
 * Whether the tenant's plan has `feature` (the server's `Features` ids, Billing/Plans.cs: `webhooks`, `telephony`,
 * `custom_branding`…): `true` or `false` once the plan is known, `undefined` while it loads. A page gated by the feature
 * waits for it and does not send a request the server would refuse with 403 FEATURE_NOT_IN_PLAN. When the plan cannot
 * be read, `true`: the page makes its requests and the server's answer decides.
 */
export function usePlanHas(tenantId: string, feature: string): boolean | undefined {
  const plan = useCurrentPlan(tenantId);
  if (plan.data) return plan.data.plan.features.includes(feature);
  return plan.isError ? true : undefined;
}
