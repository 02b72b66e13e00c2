import type { OnboardingDto, Step } from './api';

/**
 * Whether the wizard's step strip marks `step` as done (a check mark) rather than still to do.
 *
 * A step is done when GET /api/v1/onboarding lists nothing `missing` for it, with three exceptions:
 * - `done` (the launch summary) is never marked: it is where the wizard ends, not something to fill in;
 * - `voiceProvider` needs a provider chosen (`voiceProvider.provider` not null). On a chat-only plan (no `telephony` nor
 *   `widget_voice` feature) the server lists nothing missing for it, since no voice is needed (OnboardingChecklist.Missing),
 *   and a check mark there read as "chosen" before the owner had chosen anything;
 * - `telephony` ("Phone and hours") needs a number attached (`telephony.number` not null). For the same reason, a plan
 *   without the `telephony` feature lists nothing missing for it, and business hours always hold the tenant's defaults
 *   (Tenant.BusinessHours), so nothing else tells a step the owner has done from one never opened.
 */
export function stepDone(step: Step, state: Pick<OnboardingDto, 'missing' | 'voiceProvider' | 'telephony'>): boolean {
  if (step === 'done') return false;
  if (state.missing.some((m) => m.step === step)) return false;
  if (step === 'voiceProvider') return state.voiceProvider.provider !== null && state.voiceProvider.provider !== '';
  if (step === 'telephony') return state.telephony.number !== null;
  return true;
}
