import { describe, expect, it } from 'vitest';
import { createTestI18n } from '@/lib/i18n/test-instance';
import { issueText, MISSING_CODES } from './issue-text';
import type { OnboardingIssue } from './api';

const i18n = await createTestI18n();
const item = (code: string | null, message: string, details?: Record<string, string>, step = 'assistant', field = 'sync'): OnboardingIssue => ({
  step,
  field,
  message,
  skipped: false,
  code,
  details: details ?? null,
});

describe('issueText', () => {
  it('words every missing code in every language, with the values it names', () => {
    for (const lng of ['en', 'fr', 'he', 'ar']) {
      const t = i18n.getFixedT(lng);
      for (const code of MISSING_CODES) {
        const text = issueText(item(code, 'SERVER SENTENCE', { number: '+15145550100', sender: '+15145550199', version: '2026-01' }), t);
        expect(text, `${lng} ${code}`).not.toBe('SERVER SENTENCE');
        expect(text, `${lng} ${code}`).not.toMatch(/\{\{|onboarding\.|\/api\/|waiting-for-credentials/);
      }
    }
    const fr = i18n.getFixedT('fr');
    expect(issueText(item('NUMBER_FAILED', 'x', { number: '+15145550100' }, 'telephony', 'number'), fr)).toContain('+15145550100');
  });

  it('a Hebrew owner waiting for the Vapi key reads Hebrew, not the server’s English', () => {
    const text = issueText(item('ASSISTANT_WAITING_FOR_VAPI_KEY', 'The assistant answers calls once the Vapi API key is added at the voice provider step.'), i18n.getFixedT('he'));
    expect(text).toMatch(/[\u0590-\u05FF]/);
    expect(text).not.toMatch(/answers calls/);
  });

  it('an unknown code falls back to the step and field sentence, then to the server’s message', () => {
    const en = i18n.getFixedT('en');
    expect(issueText(item('SOMETHING_NEW', 'whatever', undefined, 'assistant', 'assistant'), en)).toBe('Create the assistant');
    expect(issueText(item(null, 'A brand new problem.', undefined, 'plan', 'unknown'), en)).toBe('A brand new problem.');
  });
});
