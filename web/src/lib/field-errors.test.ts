import { describe, expect, it } from 'vitest';
import i18next from 'i18next';
import { resources } from './i18n/resources';
import { ApiError, toApiError } from './api/client';
import { fieldErrors, fieldProblemText, otherFieldErrors } from './field-errors';

const i18n = i18next.createInstance();
await i18n.init({
  resources: Object.fromEntries(Object.entries(resources).map(([lng, tree]) => [lng, { translation: tree }])),
  lng: 'en',
  fallbackLng: false,
});

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

  it('an unknown problem is shown as the server wrote it', () => {
    const t = i18n.getFixedT('fr');
    expect(fieldProblemText('must be AC followed by 32 hexadecimal characters', t)).toBe('must be AC followed by 32 hexadecimal characters');
  });

  it('the summary lists only the problems of fields the form does not show', () => {
    const error = new ApiError(422, 'VALIDATION_FAILED', 'The profile is invalid.', undefined, { timeZone: 'must be an IANA time zone', 'acceptedTerms.at': 'in the future' });
    expect(otherFieldErrors(error, ['timeZone'])).toEqual([['acceptedTerms.at', 'in the future']]);
  });
});
