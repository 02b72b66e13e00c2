import { describe, expect, it } from 'vitest';
import { stepDone } from './step-status';
import type { OnboardingDto, OnboardingIssue } from './api';

const credential = { configured: false } as OnboardingDto['voiceProvider']['vapi'];
const hours = { weekly: { monday: ['09:00-17:00'] }, holidays: [] };
const number = { number: '+15145550100', status: 'active' } as NonNullable<OnboardingDto['telephony']['number']>;
const state = (provider: string | null, missing: Partial<OnboardingIssue>[] = [], attached: OnboardingDto['telephony']['number'] = null) => ({
  voiceProvider: { provider, vapi: credential, openAi: credential },
  telephony: { number: attached, businessHours: hours, timeZone: 'America/Toronto' },
  missing: missing.map((m) => ({ step: 'profile', field: 'x', message: 'x', skipped: false, ...m })),
});

describe('stepDone', () => {
  it('a voice provider not yet chosen is not done, even when the plan needs no voice (nothing missing)', () => {
    expect(stepDone('voiceProvider', state(null))).toBe(false);
    expect(stepDone('voiceProvider', state(''))).toBe(false);
  });

  it('a chosen provider is done once nothing is missing for it', () => {
    expect(stepDone('voiceProvider', state('vapi'))).toBe(true);
    expect(stepDone('voiceProvider', state('vapi', [{ step: 'voiceProvider', field: 'vapiApiKey' }]))).toBe(false);
  });

  it('phone and hours is not done without a number, even when the plan needs none (nothing missing)', () => {
    expect(stepDone('telephony', state(null))).toBe(false);
    expect(stepDone('telephony', state(null, [], number))).toBe(true);
    expect(stepDone('telephony', state(null, [{ step: 'telephony', field: 'number', code: 'NUMBER_PENDING' }], number))).toBe(false);
  });

  it('other steps follow the missing list, and the launch summary is never marked', () => {
    expect(stepDone('persona', state(null, [{ step: 'persona', field: 'persona' }]))).toBe(false);
    expect(stepDone('persona', state(null, [{ step: 'profile', field: 'fullName' }]))).toBe(true);
    expect(stepDone('done', state('vapi'))).toBe(false);
  });
});
