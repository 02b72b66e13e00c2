import { describe, expect, it } from 'vitest';
import { createTestI18n } from './i18n/test-instance';
import { ApiError, toApiError } from './api/client';
import { fieldErrors, fieldProblemText, otherFieldErrors } from './field-errors';

const i18n = await createTestI18n();

function envelope(status: number, error: unknown): Response {
  return new Response(JSON.stringify({ error }), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('field errors', () => {
  it('a 422 envelope’s details become each field’s problem', async () => {
    const error = await toApiError(
      envelope(422, {
        code: 'VALIDATION_FAILED',
        message: 'Some fields are invalid.',
        details: { email: 'must be a valid email address', password: 'must be at least 10 characters' },
      }),
    );
    expect(fieldErrors(error)).toEqual({ email: 'must be a valid email address', password: 'must be at least 10 characters' });
  });

  it('details that are not a field → text map give no field problems', async () => {
    expect(fieldErrors(await toApiError(envelope(409, { code: 'EMAIL_TAKEN', message: 'Taken.' })))).toEqual({});
    expect(fieldErrors(await toApiError(envelope(422, { code: 'X', message: 'x', details: ['a', 'b'] })))).toEqual({});
    expect(fieldErrors(await toApiError(envelope(422, { code: 'X', message: 'x', details: { n: 3, ok: 'fine' } })))).toEqual({ ok: 'fine' });
    expect(fieldErrors(new TypeError('Failed to fetch'))).toEqual({});
    expect(fieldErrors('a sentence')).toEqual({});
  });

  it.each(['en', 'fr', 'he', 'ar'])('the server’s usual problems are translated in %s', (lng) => {
    const t = i18n.getFixedT(lng);
    for (const problem of [
      'is required',
      'must be at most 200 characters',
      'must be at least 10 characters',
      'must be a valid email address',
      'must be an IANA time zone such as America/Toronto',
      'must be 8 to 200 characters without spaces',
      '3 to 20 digits',
      'at most 200 characters',
    ]) {
      const text = fieldProblemText(problem, t);
      expect(text).not.toMatch(/^errors\./);
      if (lng !== 'en') expect(text).not.toBe(problem);
    }
    expect(fieldProblemText('must be at least 10 characters', t)).toContain('10');
    expect(fieldProblemText('must be 8 to 200 characters without spaces', t)).toMatch(/8.*200/);
  });

  it.each(['en', 'fr', 'he', 'ar'])('an alert list’s problems are translated in %s with the bad entry, region and limit kept', (lng) => {
    const t = i18n.getFixedT(lng);
    const raw = "'call Marc' is not a phone number in CA; numbers such as +15145550111 or (514) 555-0111 (at most 10)";
    const bad = fieldProblemText(raw, t);
    expect(bad).not.toMatch(/^errors\./);
    expect(bad).not.toBe(raw);
    expect(bad).toContain('call Marc');
    expect(bad).toContain('CA');
    expect(bad).toContain('10');
    const many = fieldProblemText('numbers such as +15145550111 or (514) 555-0111 (at most 10)', t);
    expect(many).not.toMatch(/^errors\.|^numbers such as/);
    expect(many).toContain('10');
    const language = fieldProblemText("must be a language alert texts are written in (en, fr, e.g. fr-CA), or null for the business's", t);
    expect(language).not.toMatch(/^errors\.|must be/);
  });

  it('an unknown problem is shown as the server wrote it', () => {
    const t = i18n.getFixedT('fr');
    expect(fieldProblemText('must be twilio or vapi', t)).toBe('must be twilio or vapi');
    expect(fieldProblemText('must be at least ten characters', t)).toBe('must be at least ten characters');
  });

  it('a problem with a number is translated with the number kept', () => {
    const fr = i18n.getFixedT('fr');
    const ar = i18n.getFixedT('ar');
    expect(fieldProblemText('must be at least 12 characters', fr)).toBe('Utilisez au moins 12 caractères.');
    expect(fieldProblemText('must be between 0 and 168', fr)).toBe('Entrez un nombre de 0 à 168.');
    expect(fieldProblemText('must be between 0 and 168', ar)).toBe('أدخل رقمًا من 0 إلى 168.');
    expect(fieldProblemText('at most 10 origins', fr)).toBe('Entrez au plus 10 origines.');
    expect(fieldProblemText('must be a phone number in CA, e.g. +15145550123 or (514) 555-0123', fr)).toBe(
      'Entrez un numéro de téléphone valide pour CA, p. ex. +15145550123 ou (514) 555-0123.',
    );
  });

  it.each(['fr', 'he', 'ar'])('the password, phone, URL and origin problems are translated in %s', (lng) => {
    const t = i18n.getFixedT(lng);
    for (const problem of [
      'is too easy to guess (a common password, a keyboard run or a repeated pattern): use a few unrelated words',
      'must not be the email',
      'must be a phone number: E.164 (e.g. +15145550123) or national in the business\'s country',
      'must be a phone number in US to forward, e.g. +15145550123',
      'must be an absolute URL',
      'must not point at a private or local address',
      'must be an https origin such as https://www.example.com or https://*.example.com (no path or query)',
      'must be AC followed by 32 hexadecimal characters',
      'must be a BCP 47 tag such as fr-CA',
      'must be text without U+0000, lone surrogates or invalid UTF-8',
    ]) {
      const text = fieldProblemText(problem, t);
      expect(text, problem).not.toMatch(/^errors\./);
      expect(text, problem).not.toBe(problem);
      expect(text, problem).not.toMatch(/\b(?:must|guess|unrelated)\b/);
    }
    expect(fieldProblemText('must be a phone number in US to forward, e.g. +15145550123', t)).toContain('US');
    expect(fieldProblemText('must be AC followed by 32 hexadecimal characters', t)).toContain('32');
  });

  it.each(['en', 'fr', 'he', 'ar'])('a date not in ISO 8601 is explained in %s with the expected form shown', async (lng) => {
    const t = i18n.getFixedT(lng);
    // What StorableTextGuard answers for /api/v1/calls?from=01/12/2026 (IsoDates.InstantProblem), and for a DateOnly parameter.
    const error = await toApiError(
      envelope(400, {
        code: 'BAD_REQUEST',
        message: "The parameter 'from' has an invalid value: '01/12/2026'.",
        details: { from: 'must be ISO 8601: yyyy-MM-dd or a timestamp such as 2026-11-01T00:00:00Z' },
      }),
    );
    for (const problem of [fieldErrors(error).from ?? '', 'must be an ISO 8601 date: yyyy-MM-dd']) {
      const text = fieldProblemText(problem, t);
      expect(text, problem).not.toMatch(/^errors\.|must be|yyyy/);
      expect(text, problem).toContain('2026-11-01');
    }
  });

  it("a refusal's details that are data, not fields, are not listed as field problems", () => {
    const plan = new ApiError(403, 'FEATURE_NOT_IN_PLAN', 'The Free plan does not include webhooks.', undefined, { feature: 'webhooks', plan: 'free' });
    expect(fieldErrors(plan)).toEqual({});
    expect(plan.rawDetails).toEqual({ feature: 'webhooks', plan: 'free' });
    const duplicate = new ApiError(409, 'DUPLICATE_DOCUMENT', 'The knowledge base already holds a document with the same text.', undefined, { documentId: 'd1' });
    expect(otherFieldErrors(duplicate, [])).toEqual([]);
  });

  it('the summary lists only the problems of fields the form does not show', () => {
    const error = new ApiError(422, 'VALIDATION_FAILED', 'The profile is invalid.', undefined, { timeZone: 'must be an IANA time zone', 'acceptedTerms.at': 'in the future' });
    expect(otherFieldErrors(error, ['timeZone'])).toEqual([['acceptedTerms.at', 'in the future']]);
  });
});
