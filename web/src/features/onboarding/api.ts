import { useQuery } from '@tanstack/react-query';
import { api, data, request } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';

export type OnboardingDto = components['schemas']['OnboardingDto'];
export type OnboardingPatch = Partial<components['schemas']['OnboardingPatch']>;
export type OnboardingIssue = components['schemas']['OnboardingIssue'];
export type BusinessHours = components['schemas']['BusinessHoursDto'];
export type CredentialDto = components['schemas']['CredentialDto'];

/** The wizard's steps, in order (GET /api/v1/onboarding `steps`). */
export const STEPS = ['profile', 'voiceProvider', 'persona', 'twilio', 'telephony', 'integrations', 'assistant', 'plan', 'done'] as const;
export type Step = (typeof STEPS)[number];

export function isStep(s: string | null | undefined): s is Step {
  return (STEPS as readonly string[]).includes(s ?? '');
}

/** A receptionist template of the gallery (GET /api/v1/assistant-templates). */
export type AssistantTemplate = components['schemas']['AssistantTemplate'];

export const onboardingKey = (tenantId: string) => [tenantId, 'onboarding'] as const;

export function useOnboardingState(tenantId: string) {
  return useQuery({
    queryKey: onboardingKey(tenantId),
    queryFn: ({ signal }) => request<OnboardingDto>('GET', '/api/v1/onboarding', { signal }),
    // The wizard copies this into its draft once: read it fresh on every visit (e.g. back from Settings), never behind its back.
    staleTime: 0,
    refetchOnMount: 'always',
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
  });
}

export function patchOnboarding(patch: OnboardingPatch): Promise<OnboardingDto> {
  return request<OnboardingDto>('PATCH', '/api/v1/onboarding', { body: patch });
}

export function completeOnboarding(): Promise<{ completedAt: string; missing: OnboardingIssue[] }> {
  return request('POST', '/api/v1/onboarding/complete');
}

export function useTemplates(tenantId: string, language: 'en' | 'fr') {
  return useQuery({
    queryKey: [tenantId, 'assistant-templates', language],
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/assistant-templates', { params: { query: { language } }, signal })),
    staleTime: 60 * 60_000,
  });
}

/** Checks a stored credential live against its provider. */
export function checkCredential(provider: string): Promise<components['schemas']['CredentialCheckDto']> {
  return request('POST', `/api/v1/credentials/${encodeURIComponent(provider)}/check`);
}

export { safeReturnTo } from '@/lib/return-to';
