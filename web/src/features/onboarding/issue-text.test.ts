import { describe, expect, it } from 'vitest';
import { createTestI18n } from '@/lib/i18n/test-instance';
import { issueText, MISSING_CODES, WARNING_CODES, warningText } from './issue-text';
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

describe('warningText', () => {
  const values = { max: '2000', tag: 'xx_bad!', problem: 'must use https', number: '+15145550100', plan: 'Starter', plans: 'Pro, Business', known: 'slack' };
  it('words every warning code in every language, with the values it names', () => {
    for (const lng of ['en', 'fr', 'he', 'ar']) {
      const t = i18n.getFixedT(lng);
      for (const code of WARNING_CODES) {
        const text = warningText(item(code, 'SERVER SENTENCE', values, 'persona', 'persona'), t);
        expect(text, `${lng} ${code}`).not.toBe('SERVER SENTENCE');
        expect(text, `${lng} ${code}`).not.toMatch(/\{\{|onboarding\.|\/api\//);
      }
    }
  });

  it('a French owner whose Vapi key is missing reads French, not the server’s English', () => {
    const text = warningText(item('VAPI_KEY_NEEDED', 'Vapi needs its private API key before assistants and numbers can be pushed', undefined, 'voiceProvider', 'vapiApiKey'), i18n.getFixedT('fr'));
    expect(text).toContain('clé');
    expect(text).not.toMatch(/needs its private/);
  });

  it('names the field, the limit and the number the warning is about', () => {
    const fr = i18n.getFixedT('fr');
    expect(warningText(item('TEXT_TOO_LONG', 'at most 100 characters; not saved', { max: '100' }, 'persona', 'tone'), fr)).toBe('Ton : au plus 100 caractères. Non enregistré.');
    expect(warningText(item('NUMBER_ALREADY_ATTACHED', 'x', { number: '+15145550100' }, 'telephony', 'number'), fr)).toContain('+15145550100');
    expect(warningText(item('OPENAI_BASE_URL_INVALID', 'x', { problem: 'must use https' }, 'voiceProvider', 'openAiBaseUrl'), fr)).toBe("L’URL de base doit utiliser https. Non enregistrée.");
  });

  it('words a refusal’s reason as the refusing endpoint’s error is worded', () => {
    const he = i18n.getFixedT('he');
    const refused = item('NUMBER_REFUSED', 'FORBIDDEN: nope; not saved', { errorCode: 'FORBIDDEN', errorMessage: 'nope' }, 'telephony', 'number');
    const text = warningText(refused, he);
    expect(text).toContain(he('errors.codes.FORBIDDEN'));
    expect(text).toMatch(/[\u0590-\u05FF]/);
  });

  it('an unknown code or none gives the server’s message', () => {
    const en = i18n.getFixedT('en');
    expect(warningText(item('SOMETHING_NEW', 'A brand new problem.', undefined, 'plan', 'planId'), en)).toBe('A brand new problem.');
    expect(warningText(item(null, 'Another problem.', undefined, 'plan', 'planId'), en)).toBe('Another problem.');
  });
});

describe('warningText for opening hours', () => {
  it('words a refused range, weekday or date by its kind, not with the server’s English phrase', () => {
    const fr = i18n.getFixedT('fr');
    const warn = (details: Record<string, string>) =>
      warningText(item('BUSINESS_HOURS_INVALID', `${details.problem}; dropped`, details, 'telephony', 'businessHours'), fr);
    expect(warn({ problem: "monday: 'nine to five' is not an HH:mm-HH:mm range", kind: 'range', day: 'monday', value: 'nine to five' })).toBe(
      'Lundi : « nine to five » n’est pas une plage horaire (HH:mm-HH:mm) ; elle a été ignorée.',
    );
    expect(warn({ problem: "unknown weekday 'lundi'", kind: 'weekday', day: 'lundi', value: 'lundi' })).toContain('« lundi »');
    expect(warn({ problem: "holiday '25/12' is not yyyy-MM-dd", kind: 'holiday', value: '25/12' })).toContain('« 25/12 »');
    for (const text of [warn({ problem: 'x', kind: 'range', day: 'monday', value: '9-5' }), warn({ problem: 'x', kind: 'holiday', value: 'y' })]) {
      expect(text).not.toMatch(/\{\{|onboarding\.|is not/);
    }
  });
});
