import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { components } from '@/lib/api/schema';
import { send } from './http';
import { useCurrentPlan } from '@/lib/plan';

export type Assistant = components['schemas']['AssistantDto'];
export type AssistantRequest = Partial<components['schemas']['AssistantRequest']>;
export type PhoneNumber = components['schemas']['PhoneNumberDto'];
export type PhoneNumberRequest = Partial<components['schemas']['PhoneNumberRequest']>;
export type WidgetSettings = components['schemas']['WidgetSettingsDto'];
export type WidgetInstall = components['schemas']['WidgetInstallDto'];
/** The business's own SMS alert policy (`GET/PUT /api/v1/settings/alerts`); an assistant's empty lists inherit it. */
export type AlertSettings = components['schemas']['AlertSettingsDto'];
export type AlertSettingsRequest = components['schemas']['AlertPolicyDto'];

/** A receptionist persona from the template gallery (`GET /api/v1/assistant-templates`, issue 9 contract). */
export interface AssistantTemplate {
  id: string;
  trade: string;
  language: string;
  name: string;
  assistantName: string;
  firstMessage: string;
  instructions: string;
  urgencyCues: string[];
  tools: string[];
  languages: string[];
}

/**
 * Tools an owner can turn on or off for an assistant (the server's `VapiAssistantMapper.KnownTools`). The knowledge base
 * (`search_knowledge_base`) is not one of them: the server always offers it, so the editor only says so.
 */
export const TOOLS = ['capture_lead', 'check_business_hours', 'send_sms', 'end_call'] as const;

const k = {
  assistants: (tenantId: string) => [tenantId, 'studio', 'assistants'] as const,
  numbers: (tenantId: string) => [tenantId, 'studio', 'numbers'] as const,
  widget: (tenantId: string) => [tenantId, 'studio', 'widget'] as const,
  alerts: (tenantId: string) => [tenantId, 'studio', 'alerts'] as const,
  templates: (tenantId: string, language: string) => [tenantId, 'studio', 'templates', language] as const,
};

export function useAssistants(tenantId: string) {
  return useQuery({
    queryKey: k.assistants(tenantId),
    queryFn: ({ signal }) => send<Assistant[]>('GET', '/api/v1/assistants', { signal }),
    // While a change waits for Vapi, poll so the sync status moves on its own.
    refetchInterval: (q) => (q.state.data?.some((a) => a.syncStatus === 'pending' || a.syncStatus === 'retrying') ? 3000 : false),
  });
}

export function useSaveAssistant(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id?: string; body: AssistantRequest }) =>
      id ? send<Assistant>('PATCH', `/api/v1/assistants/${encodeURIComponent(id)}`, { body }) : send<Assistant>('POST', '/api/v1/assistants', { body }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: k.assistants(tenantId) }),
  });
}

export function useDeleteAssistant(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => send<undefined>('DELETE', `/api/v1/assistants/${encodeURIComponent(id)}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: k.assistants(tenantId) }),
  });
}

export function useTemplates(tenantId: string, language: string, enabled: boolean) {
  return useQuery({
    queryKey: k.templates(tenantId, language),
    queryFn: ({ signal }) =>
      send<{ items: AssistantTemplate[] }>('GET', '/api/v1/assistant-templates', { query: { language: language || undefined }, signal }),
    enabled,
    retry: false,
    staleTime: 10 * 60_000,
  });
}

export function useNumbers(tenantId: string) {
  return useQuery({
    queryKey: k.numbers(tenantId),
    queryFn: ({ signal }) => send<PhoneNumber[]>('GET', '/api/v1/numbers', { signal }),
    refetchInterval: (q) => (q.state.data?.some((n) => n.status === 'pending') ? 3000 : false),
  });
}

export function useAttachNumber(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: PhoneNumberRequest) => send<PhoneNumber>('POST', '/api/v1/numbers', { body }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: k.numbers(tenantId) }),
  });
}

export function useUpdateNumber(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: PhoneNumberRequest }) => send<PhoneNumber>('PATCH', `/api/v1/numbers/${encodeURIComponent(id)}`, { body }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: k.numbers(tenantId) }),
  });
}

export function useDetachNumber(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => send<undefined>('DELETE', `/api/v1/numbers/${encodeURIComponent(id)}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: k.numbers(tenantId) }),
  });
}

export function useWidget(tenantId: string) {
  return useQuery({
    queryKey: k.widget(tenantId),
    queryFn: async ({ signal }) => {
      const [install, settings] = await Promise.all([
        send<WidgetInstall>('GET', '/api/v1/widget/install', { signal }),
        send<WidgetSettings>('GET', '/api/v1/widget/settings', { signal }),
      ]);
      return { install, settings };
    },
  });
}

/**
 * The features of the tenant's plan (`GET /api/v1/plan` → `plan.features`, the server's `Features` ids such as
 * `custom_branding`), for the pages that say what the plan leaves out. Undefined while loading or when it failed: a page
 * then says nothing rather than guess.
 */
export function usePlanFeatures(tenantId: string) {
  const plan = useCurrentPlan(tenantId);
  return { ...plan, data: plan.data?.plan.features };
}

export function useSaveOrigins(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (origins: string[]) => send<{ origins: string[] }>('PUT', '/api/v1/widget/origins', { body: { origins } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: k.widget(tenantId) }),
  });
}

export function useSaveWidgetSettings(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: WidgetSettings) => send<WidgetSettings>('PUT', '/api/v1/widget/settings', { body }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: k.widget(tenantId) }),
  });
}

export function useCreateWidgetKey(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => send<unknown>('POST', '/api/v1/keys', { body: { name, kind: 'publishable' } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: k.widget(tenantId) }),
  });
}

/** The business's alert policy (Settings → Alerts, and the studio's hints about what an empty list inherits). */
export function useAlertSettings(tenantId: string) {
  return useQuery({
    queryKey: k.alerts(tenantId),
    queryFn: ({ signal }) => send<AlertSettings>('GET', '/api/v1/settings/alerts', { signal }),
  });
}

/** Replaces the business's alert policy; the answer holds the numbers as stored (E.164). */
export function useSaveAlertSettings(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: AlertSettingsRequest) => send<AlertSettings>('PUT', '/api/v1/settings/alerts', { body }),
    onSuccess: (saved) => qc.setQueryData(k.alerts(tenantId), saved),
  });
}

/** Tone of a Vapi sync / number status badge. */
export function statusTone(status: string | null | undefined): 'green' | 'amber' | 'red' | 'slate' | 'blue' {
  switch (status) {
    case 'synced':
    case 'active':
      return 'green';
    case 'pending':
    case 'retrying':
      return 'blue';
    case 'waiting-for-credentials':
      return 'amber';
    case 'failed':
      return 'red';
    default:
      return 'slate';
  }
}

/**
 * The sync problem shown beside an assistant: for `waiting-for-credentials` the translated `studio.sync.needsVapiKey` (the
 * server's `syncError` for it is English only); otherwise the server's `syncError` (Vapi's own message), or null.
 */
export function syncProblem(
  assistant: { syncStatus?: string | null; syncError?: string | null },
  t: (key: string) => string,
): string | null {
  if (assistant.syncStatus === 'waiting-for-credentials') return t('studio.sync.needsVapiKey');
  return assistant.syncError ?? null;
}
