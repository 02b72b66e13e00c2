import { describe, expect, it } from 'vitest';
import en from './i18n/locales/en.json';
import fr from './i18n/locales/fr.json';
import he from './i18n/locales/he.json';
import ar from './i18n/locales/ar.json';
import { endedReasonLabel, endedReasonText, groupEndedReasons } from './ended-reason';

const locales = { en, fr, he, ar } as const;

describe('endedReasonLabel', () => {
  it('names Vapi, Twilio and Switchboard values and the provider-error families', () => {
    expect(endedReasonLabel('customer-ended-call')).toBe('callerHungUp');
    expect(endedReasonLabel('caller-hangup')).toBe('callerHungUp');
    expect(endedReasonLabel('customer-busy')).toBe('busy');
    expect(endedReasonLabel('busy')).toBe('busy');
    expect(endedReasonLabel('pipeline-error-openai-llm-failed')).toBe('providerError');
    expect(endedReasonLabel('call.in-progress.error-vapifault-transport-never-connected')).toBe('providerError');
    expect(endedReasonLabel('call.start.error-get-assistant')).toBe('startError');
  });

  it('names the reasons Switchboard writes when it closes a call whose end never came, and a cold transfer nobody took', () => {
    expect(endedReasonLabel('end-of-call-report-missing')).toBe('endNotReported');
    expect(endedReasonLabel('status-callback-missing')).toBe('endNotReported');
    expect(endedReasonLabel('stream-end-missing')).toBe('endNotReported');
    expect(endedReasonLabel('transfer-no-answer')).toBe('transferFailed');
    expect(endedReasonLabel('transfer-busy')).toBe('transferFailed');
    expect(endedReasonLabel('fax')).toBe('fax');
  });

  it('leaves an unknown value unlabelled', () => {
    expect(endedReasonLabel('a-reason-added-next-year')).toBeNull();
    expect(endedReasonText('a-reason-added-next-year', (k) => `t:${k}`)).toBe('a-reason-added-next-year');
  });

  it('has every label in every locale', () => {
    const labels = new Set(
      ['customer-ended-call', 'customer-ended-call-during-transfer', 'customer-busy', 'customer-did-not-answer',
        'customer-did-not-give-microphone-permission', 'assistant-ended-call', 'assistant-forwarded-call',
        'exceeded-max-duration', 'silence-timed-out', 'manually-canceled', 'voicemail', 'failed', 'worker-shutdown',
        'transfer-failed', 'provider-unreachable', 'stream-failed', 'after-hours', 'over-limit', 'tenant-suspended',
        'no-assistant', 'chat-idle', 'call.start.error-x', 'end-of-call-report-missing', 'status-callback-missing', 'fax'].map((r) => endedReasonLabel(r)),
    );
    for (const [name, locale] of Object.entries(locales)) {
      const table = (locale as { endedReason?: Record<string, string> }).endedReason ?? {};
      for (const label of labels) {
        expect(table[label!], `${name}: endedReason.${label}`).toMatch(/\S/);
      }
      expect(Object.keys(table).sort(), name).toEqual(Object.keys(en.endedReason).sort());
    }
  });
});

describe('groupEndedReasons', () => {
  it('adds up the values that share a label, most calls first', () => {
    const rows = groupEndedReasons([
      { reason: 'customer-ended-call', count: 5 },
      { reason: 'busy', count: 2 },
      { reason: 'something-new', count: 4 },
      { reason: 'customer-busy', count: 3 },
      { reason: 'caller-hangup', count: 1 },
    ]);
    expect(rows).toEqual([
      { label: 'callerHungUp', reasons: ['customer-ended-call', 'caller-hangup'], count: 6 },
      { label: 'busy', reasons: ['busy', 'customer-busy'], count: 5 },
      { label: null, reasons: ['something-new'], count: 4 },
    ]);
  });
});
