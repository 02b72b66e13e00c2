import type { BusinessHours, OnboardingDto, OnboardingPatch } from './api';

/** The wizard's editable fields, as the form holds them (secrets are not here: they are saved with explicit buttons). */
export interface Draft {
  profile: { fullName: string; organisation: string; industry: string; timeZone: string; locale: string; marketingOptIn: boolean; acceptTerms: boolean };
  voiceProvider: { provider: string };
  persona: { persona: string; jobToBeDone: string; languages: string[]; tone: string; guidelines: string; fallbackEmail: string };
  telephony: { hours: Required<{ weekly: Record<string, string[]>; holidays: string[] }>; afterHours: string; forwardTo: string; message: string };
  integrations: { calendar: string; crm: string; workspace: string };
  plan: { planId: string };
}

/** Steps whose fields autosave. */
export type DraftStep = keyof Draft;

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

export function draftFrom(s: OnboardingDto): Draft {
  const p = s.profile;
  const hours: BusinessHours = s.telephony.businessHours;
  const after = s.telephony.number?.afterHours;
  return {
    profile: {
      fullName: p.fullName ?? '',
      organisation: p.organisation,
      industry: p.industry ?? '',
      timeZone: p.timeZone,
      locale: p.locale,
      marketingOptIn: p.marketingOptIn,
      acceptTerms: p.acceptedTerms?.version === p.termsVersion,
    },
    voiceProvider: { provider: s.voiceProvider.provider ?? '' },
    persona: {
      persona: s.persona.persona ?? '',
      jobToBeDone: s.persona.jobToBeDone ?? '',
      languages: [...s.persona.languages],
      tone: s.persona.tone ?? '',
      guidelines: s.persona.guidelines ?? '',
      fallbackEmail: s.persona.fallbackEmail ?? '',
    },
    telephony: {
      hours: { weekly: { ...(hours.weekly ?? {}) }, holidays: [...(hours.holidays ?? [])] },
      afterHours: after?.action ?? 'assistant',
      forwardTo: after?.forwardTo ?? '',
      message: after?.message ?? '',
    },
    integrations: { calendar: s.integrations.calendar ?? '', crm: s.integrations.crm ?? '', workspace: s.integrations.workspace ?? '' },
    plan: { planId: s.plan.planId },
  };
}

/**
 * The PATCH body for the steps edited since the last save. Text fields are sent as typed (an empty string clears);
 * terms are accepted now, at the version the installation requires.
 */
export function patchFor(draft: Draft, steps: Iterable<DraftStep>, termsVersion: string, now: Date = new Date()): OnboardingPatch {
  const patch: OnboardingPatch = {};
  for (const step of steps) {
    switch (step) {
      case 'profile': {
        const p = draft.profile;
        patch.profile = {
          fullName: p.fullName,
          organisation: p.organisation,
          industry: p.industry,
          timeZone: p.timeZone,
          locale: p.locale,
          marketingOptIn: p.marketingOptIn,
          acceptedTerms: p.acceptTerms ? { version: termsVersion, at: now.toISOString() } : null,
        };
        break;
      }
      case 'voiceProvider':
        if (draft.voiceProvider.provider) patch.voiceProvider = { provider: draft.voiceProvider.provider, vapiApiKey: null, openAiApiKey: null, openAiBaseUrl: null };
        break;
      case 'persona':
        patch.persona = { ...draft.persona };
        break;
      case 'telephony': {
        const t = draft.telephony;
        const weekly = Object.fromEntries(Object.entries(t.hours.weekly).filter(([, ranges]) => ranges.length > 0));
        patch.telephony = {
          number: null,
          mode: null,
          businessHours: { weekly, holidays: t.hours.holidays.filter(Boolean) },
          afterHours: { action: t.afterHours, forwardTo: t.afterHours === 'forward' ? t.forwardTo || null : null, message: t.afterHours === 'voicemail' ? t.message || null : null },
        };
        break;
      }
      case 'integrations':
        patch.integrations = { ...draft.integrations };
        break;
      case 'plan':
        patch.plan = { planId: draft.plan.planId };
        break;
    }
  }
  return patch;
}
