import type { OnboardingDto, Step } from './api';

/**
 * Whether the wizard's step strip marks `step` as done (a check mark) rather than still to do.
 *
 * A step is done when GET /api/v1/onboarding lists nothing `missing` for it, with two exceptions:
 * - `done` (the launch summary) is never marked: it is where the wizard ends, not something to fill in;
 * - `voiceProvider` needs a provider chosen (`voiceProvider.provider` not null). On a chat-only plan (no `telephony` nor
 *   `widget_voice` feature) the server lists nothing missing for it, since no voice is needed (OnboardingChecklist.Missing),
 *   and a check mark there read as "chosen" before the owner had chosen anything.
 */
export function stepDone(step: Step, state: Pick<OnboardingDto, 'missing' | 'voiceProvider'>): boolean {
  if (step === 'done') return false;
  if (state.missing.some((m) => m.step === step)) return false;
  if (step === 'voiceProvider') return state.voiceProvider.provider !== null && state.voiceProvider.provider !== '';
  return true;
}
