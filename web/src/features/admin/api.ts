import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { request } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';
import { useSession } from '@/lib/session';
import { useCurrentPlan } from '@/lib/plan';
import { keys } from '@/lib/query-keys';

type S = components['schemas'];
export type ApiKeyDto = S['ApiKeyDto'];
export type CreatedApiKey = S['CreatedApiKey'];
export type WebhookEndpointDto = S['WebhookEndpointDto'];
export type WebhookEndpointCreated = S['WebhookEndpointCreated'];
export type WebhookDeliveryDto = S['WebhookDeliveryDto'];
export type WebhookDeliveryDetail = S['WebhookDeliveryDetail'];
export type WebhookEventTypeDto = S['WebhookEventTypeDto'];
export type WebhookSecretRotated = S['WebhookSecretRotated'];
export type WebhookReplayResult = S['WebhookReplayResult'];
export type Plan = S['Plan'];
export type CurrentPlan = S['CurrentPlan'];
export type UsageDto = S['UsageDto'];
export type AuditEntryDto = S['AuditEntryDto'];
export type AuditVerification = S['AuditVerification'];
export type RetentionSettings = S['RetentionSettings'];
export type CallerErasureResult = S['CallerErasureResult'];
export type TenantErasureResult = S['TenantErasureResult'];
export type OperatorTenantDto = S['OperatorTenantDto'];
export interface Paged<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

/** Query keys of the admin settings pages; each starts with the tenant id (switching tenant never shows another's cache). */
export const adminKeys = {
  apiKeys: (t: string) => [t, 'admin', 'api-keys'] as const,
  endpoints: (t: string) => [t, 'admin', 'webhooks'] as const,
  deliveries: (t: string, endpointId: string) => [t, 'admin', 'webhooks', endpointId, 'deliveries'] as const,
  delivery: (t: string, endpointId: string, id: string) => [t, 'admin', 'webhooks', endpointId, 'delivery', id] as const,
  eventTypes: ['webhook-event-types'] as const,
  plans: ['plans'] as const,
  usage: (t: string) => [t, 'admin', 'usage'] as const,
  audit: (t: string) => [t, 'admin', 'audit'] as const,
  retention: (t: string) => [t, 'admin', 'retention'] as const,
  operatorTenants: ['operator', 'tenants'] as const,
};

/** What the signed-in role may do here, as the API enforces it (owner > admin > member). */
export function usePermissions() {
  const session = useSession();
  const role = session.tenant?.role ?? 'member';
  return {
    role,
    configure: role === 'owner' || role === 'admin',
    compliance: role === 'owner' || role === 'admin',
    owner: role === 'owner',
    operator: session.isOperator,
  };
}

// ---- API keys -------------------------------------------------------------------------------------------------

export function useApiKeys(t: string) {
  return useQuery({ queryKey: adminKeys.apiKeys(t), queryFn: ({ signal }) => request<ApiKeyDto[]>('GET', '/api/v1/keys', { signal }) });
}

export function useKeyMutations(t: string) {
  const qc = useQueryClient();
  const refresh = () => void qc.invalidateQueries({ queryKey: adminKeys.apiKeys(t) });
  return {
    create: useMutation({
      mutationFn: (body: { name: string; kind: string }) => request<CreatedApiKey>('POST', '/api/v1/keys', { body }),
      onSuccess: refresh,
    }),
    rotate: useMutation({
      mutationFn: ({ id, graceHours }: { id: string; graceHours: number }) =>
        request<CreatedApiKey>('POST', `/api/v1/keys/${encodeURIComponent(id)}/rotate`, { body: { graceHours } }),
      onSuccess: refresh,
    }),
    revoke: useMutation({
      mutationFn: (id: string) => request<undefined>('DELETE', `/api/v1/keys/${encodeURIComponent(id)}`),
      onSuccess: refresh,
    }),
  };
}

// ---- Webhooks -------------------------------------------------------------------------------------------------

export function useEventTypes() {
  return useQuery({
    queryKey: adminKeys.eventTypes,
    queryFn: ({ signal }) => request<WebhookEventTypeDto[]>('GET', '/api/v1/webhooks/event-types', { signal }),
    staleTime: 60 * 60_000,
  });
}

/** The webhook endpoints; `enabled: false` holds the request (a plan without webhooks, where it would be refused). */
export function useEndpoints(t: string, { enabled = true }: { enabled?: boolean } = {}) {
  return useQuery({
    enabled,
    queryKey: adminKeys.endpoints(t),
    queryFn: ({ signal }) => request<WebhookEndpointDto[]>('GET', '/api/v1/webhooks/endpoints', { signal }),
  });
}

export interface EndpointInput {
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  headers: Record<string, string> | undefined;
}

const ep = (id: string) => `/api/v1/webhooks/endpoints/${encodeURIComponent(id)}`;

export function useEndpointMutations(t: string) {
  const qc = useQueryClient();
  const refresh = () => void qc.invalidateQueries({ queryKey: adminKeys.endpoints(t) });
  return {
    create: useMutation({
      mutationFn: (body: EndpointInput) => request<WebhookEndpointCreated>('POST', '/api/v1/webhooks/endpoints', { body }),
      onSuccess: refresh,
    }),
    update: useMutation({
      mutationFn: ({ id, body }: { id: string; body: Partial<EndpointInput> }) => request<WebhookEndpointDto>('PATCH', ep(id), { body }),
      onSuccess: refresh,
    }),
    remove: useMutation({ mutationFn: (id: string) => request<undefined>('DELETE', ep(id)), onSuccess: refresh }),
    rotate: useMutation({
      mutationFn: ({ id, overlapHours }: { id: string; overlapHours: number }) =>
        request<WebhookSecretRotated>('POST', `${ep(id)}/rotate-secret`, { body: { overlapHours } }),
      onSuccess: refresh,
    }),
  };
}

export function useDeliveries(t: string, endpointId: string, status: string) {
  return useQuery({
    queryKey: [...adminKeys.deliveries(t, endpointId), status],
    queryFn: ({ signal }) =>
      request<Paged<WebhookDeliveryDto>>('GET', `${ep(endpointId)}/deliveries`, { query: { status, pageSize: 50 }, signal }),
    placeholderData: keepPreviousData,
    // Pending deliveries change on their own (the outbox worker attempts them): poll while any is pending.
    refetchInterval: (q) => (q.state.data?.items.some((d) => d.status === 'pending') ? 2000 : false),
  });
}

export function useDelivery(t: string, endpointId: string, id: string | null) {
  return useQuery({
    queryKey: adminKeys.delivery(t, endpointId, id ?? ''),
    queryFn: ({ signal }) => request<WebhookDeliveryDetail>('GET', `${ep(endpointId)}/deliveries/${encodeURIComponent(id ?? '')}`, { signal }),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data?.delivery.status === 'pending' ? 2000 : false),
  });
}

export function useDeliveryMutations(t: string, endpointId: string) {
  const qc = useQueryClient();
  const refresh = () => void qc.invalidateQueries({ queryKey: adminKeys.deliveries(t, endpointId).slice(0, 4) });
  return {
    test: useMutation({
      mutationFn: (eventType: string | null) => request<WebhookDeliveryDto>('POST', `${ep(endpointId)}/test`, { body: eventType ? { eventType } : {} }),
      onSuccess: refresh,
    }),
    replay: useMutation({
      mutationFn: (deliveryId: string) => request<WebhookDeliveryDto>('POST', `${ep(endpointId)}/deliveries/${encodeURIComponent(deliveryId)}/replay`),
      onSuccess: refresh,
    }),
    replayFailed: useMutation({
      mutationFn: (since: string) => request<WebhookReplayResult>('POST', `${ep(endpointId)}/replay-failed`, { body: { since } }),
      onSuccess: refresh,
    }),
  };
}

// ---- Plan & usage ---------------------------------------------------------------------------------------------

/** The tenant's plan, from the cache entry every page shares ({@link useCurrentPlan}). */
export function usePlan(t: string) {
  return useCurrentPlan(t);
}

export function usePlans() {
  return useQuery({ queryKey: adminKeys.plans, queryFn: ({ signal }) => request<Plan[]>('GET', '/api/v1/plans', { signal }), staleTime: 60 * 60_000 });
}

export function useUsage(t: string) {
  return useQuery({ queryKey: adminKeys.usage(t), queryFn: ({ signal }) => request<UsageDto>('GET', '/api/v1/usage', { signal }) });
}

export function useChangePlan(t: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (planId: string) => request<CurrentPlan>('PUT', '/api/v1/plan', { body: { planId } }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: keys.plan(t) });
      void qc.invalidateQueries({ queryKey: adminKeys.usage(t) });
    },
  });
}

// ---- Audit ----------------------------------------------------------------------------------------------------

export interface AuditFilter {
  action?: string;
  actorType?: string;
  actorId?: string;
  from?: string;
  to?: string;
  page?: number;
}

export function useAudit(t: string, filter: AuditFilter) {
  return useQuery({
    queryKey: [...adminKeys.audit(t), filter],
    queryFn: ({ signal }) => request<Paged<AuditEntryDto>>('GET', '/api/v1/audit', { query: { ...filter, pageSize: 25 }, signal }),
    placeholderData: keepPreviousData,
  });
}

export function useAuditVerify(t: string) {
  return useQuery({
    queryKey: [...adminKeys.audit(t), 'verify'],
    queryFn: ({ signal }) => request<AuditVerification>('GET', '/api/v1/audit/verify', { signal }),
  });
}

// ---- Data & privacy -------------------------------------------------------------------------------------------

export function useRetention(t: string) {
  return useQuery({ queryKey: adminKeys.retention(t), queryFn: ({ signal }) => request<RetentionSettings>('GET', '/api/v1/retention', { signal }) });
}

export function usePrivacyMutations(t: string) {
  const qc = useQueryClient();
  return {
    retention: useMutation({
      mutationFn: (body: RetentionSettings) => request<RetentionSettings>('PUT', '/api/v1/retention', { body }),
      onSuccess: (r) => qc.setQueryData(adminKeys.retention(t), r),
    }),
    eraseCaller: useMutation({
      mutationFn: (phoneNumber: string) => request<CallerErasureResult>('POST', '/api/v1/erasure/caller', { body: { phoneNumber } }),
      // Calls, leads and SMS of that caller are gone: drop every cached page of this tenant.
      onSuccess: () => void qc.invalidateQueries({ queryKey: [t] }),
    }),
    eraseTenant: useMutation({
      mutationFn: (confirm: string) => request<TenantErasureResult>('POST', '/api/v1/tenant/erase', { body: { confirm } }),
    }),
  };
}

// ---- Operator -------------------------------------------------------------------------------------------------

export function useOperatorTenants() {
  return useQuery({
    queryKey: adminKeys.operatorTenants,
    queryFn: ({ signal }) => request<OperatorTenantDto[]>('GET', '/api/v1/operator/tenants', { signal }),
  });
}

export function useUpdateTenant() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: { planId?: string; status?: string } }) =>
      request<OperatorTenantDto>('PATCH', `/api/v1/operator/tenants/${encodeURIComponent(id)}`, { body }),
    onSuccess: (row) =>
      qc.setQueryData<OperatorTenantDto[]>(adminKeys.operatorTenants, (old) => old?.map((r) => (r.id === row.id ? row : r))),
  });
}
