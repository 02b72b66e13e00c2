import { useMutation, useQuery } from '@tanstack/react-query';
import { request } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';

type S = components['schemas'];
export type BillingOverview = S['BillingOverview'];
export type BillingRedirect = S['BillingRedirect'];

export const billingKeys = {
  overview: (t: string) => ['billing', t] as const,
};

/** GET /api/v1/billing: mode, subscription, credit left, usage this period, upcoming and past invoices. */
export function useBilling(t: string) {
  return useQuery({
    queryKey: billingKeys.overview(t),
    queryFn: ({ signal }) => request<BillingOverview>('GET', '/api/v1/billing', { signal }),
  });
}

/** POST /api/v1/billing/checkout, then the browser goes to Stripe Checkout. */
export function useCheckout() {
  return useMutation({
    mutationFn: (planId: string) =>
      request<BillingRedirect>('POST', '/api/v1/billing/checkout', {
        body: { planId },
      }),
    onSuccess: (r) => window.location.assign(r.url),
  });
}

/** POST /api/v1/billing/portal, then the browser goes to the Stripe Customer Portal. */
export function usePortal() {
  return useMutation({
    mutationFn: () => request<BillingRedirect>('POST', '/api/v1/billing/portal'),
    onSuccess: (r) => window.location.assign(r.url),
  });
}
