import { describe, expect, it } from 'vitest';
import { createTestI18n } from './i18n/test-instance';
import { ApiError } from './api/client';
import { CODE_TEXT_KEYS, errorText } from './error-text';

const i18n = await createTestI18n();

describe('errorText', () => {
  it.each(['en', 'fr', 'he', 'ar'])('a server that cannot be reached is said so in %s, not as "Failed to fetch"', (lng) => {
    const t = i18n.getFixedT(lng);
    for (const browserMessage of ['Failed to fetch', 'NetworkError when attempting to fetch resource.', 'Load failed']) {
      const text = errorText(new TypeError(browserMessage), t);
      expect(text).toBe(t('errors.unreachable'));
      expect(text).not.toBe('errors.unreachable');
      expect(text).not.toMatch(/fetch|network ?error|load failed/i);
    }
  });

  it('a proxy answering 502 without the envelope is said in the reader’s language', () => {
    const t = i18n.getFixedT('ar');
    const text = errorText(new ApiError(502, 'HTTP_502', 'Bad Gateway'), t);
    expect(text).toBe(t('errors.serverUnavailable'));
    expect(text).not.toContain('Bad Gateway');
  });

  it('an unknown code’s message and other errors are shown as they are', () => {
    const t = i18n.getFixedT('fr');
    expect(errorText(new ApiError(409, 'SOMETHING_NEW', 'Something new went wrong.'), t)).toBe('Something new went wrong.');
    expect(errorText(new TypeError("Cannot read properties of undefined (reading 'x')"), t)).toContain('Cannot read');
  });

  it('a known code is said in French and Arabic instead of the server’s English', () => {
    const error = new ApiError(409, 'LAST_OWNER', 'The tenant needs at least one owner.');
    expect(errorText(error, i18n.getFixedT('fr'))).toBe('L’organisation doit avoir au moins un propriétaire.');
    expect(errorText(error, i18n.getFixedT('ar'))).toBe('يجب أن يكون للمؤسسة مالك واحد على الأقل.');
    expect(errorText(new ApiError(409, 'NUMBER_TAKEN', 'This number is already attached.'), i18n.getFixedT('fr'))).toBe('Ce numéro est déjà associé.');
  });

  it('a limit, a plan or a name in the server’s message is kept in the translation', () => {
    const fr = i18n.getFixedT('fr');
    const ar = i18n.getFixedT('ar');
    expect(errorText(new ApiError(409, 'TOO_MANY_KEYS', 'At most 10 active keys: revoke one first.'), fr)).toBe(
      'Vous pouvez avoir au plus 10 clés actives : révoquez-en une d’abord.',
    );
    expect(errorText(new ApiError(403, 'FEATURE_NOT_IN_PLAN', 'The Starter plan does not include call recording.'), fr)).toBe(
      'Le forfait Starter n’inclut pas l’enregistrement des appels.',
    );
    const blocked = errorText(
      new ApiError(422, 'URL_BLOCKED', "The host 'intranet.example' resolves to a private address (10.0.0.7), where Switchboard may not connect.", undefined, {
        address: '10.0.0.7',
        reason: 'private',
      }),
      ar,
    );
    expect(blocked).toContain('intranet.example');
    expect(blocked).toContain('10.0.0.7');
    expect(blocked).not.toMatch(/resolves|where Switchboard/);
  });

  it('a query value refused with BAD_REQUEST names its parameter in the reader’s language', () => {
    const error = new ApiError(400, 'BAD_REQUEST', "The parameter 'from' has an invalid value: '01/12/2026'.", undefined, { from: 'must be ISO 8601: yyyy-MM-dd or a timestamp such as 2026-11-01T00:00:00Z' });
    expect(errorText(error, i18n.getFixedT('fr'))).toBe('La valeur donnée pour from n’est pas valide.');
    expect(errorText(error, i18n.getFixedT('ar'))).toContain('from');
    expect(errorText(error, i18n.getFixedT('ar'))).not.toMatch(/parameter|invalid/);
  });

  it('a field the server does not take is named in the reader’s language', () => {
    const error = new ApiError(400, 'UNKNOWN_FIELD', "The body names 'nmae', which this request does not take (its fields: name, kind).", undefined, {
      nmae: 'is not a field of this request',
    });
    expect(errorText(error, i18n.getFixedT('fr'))).toBe('Cette page a envoyé un champ que le serveur ne prend pas (« nmae ») : rechargez la page, puis réessayez.');
  });

  it('a value the translation needs from details is interpolated, and without it the server’s message stays', () => {
    const fr = i18n.getFixedT('fr');
    const limited = new ApiError(429, 'RATE_LIMITED', 'More than 120 requests per minute.', undefined, { limit: 120, windowSeconds: 60 });
    expect(errorText(limited, fr)).toBe('Plus de 120 requêtes par minute. Attendez un moment, puis réessayez.');
    expect(errorText(new ApiError(429, 'RATE_LIMITED', 'Slow down.'), fr)).toBe('Slow down.');
  });

  it('a known code with a message its translation was not written for keeps the server’s message', () => {
    const fr = i18n.getFixedT('fr');
    expect(errorText(new ApiError(403, 'INSUFFICIENT_ROLE', 'Only an owner can rename the organisation.'), fr)).toBe('Only an owner can rename the organisation.');
    expect(errorText(new ApiError(403, 'FEATURE_NOT_IN_PLAN', 'The Starter plan does not include time travel.'), fr)).toBe(
      'The Starter plan does not include time travel.',
    );
    expect(errorText(new ApiError(409, 'TOO_MANY_KEYS', 'Too many keys.'), fr)).toBe('Too many keys.');
  });

  it('the two validation summaries are translated as before', () => {
    const fr = i18n.getFixedT('fr');
    expect(errorText(new ApiError(422, 'VALIDATION_FAILED', 'Some fields are invalid.'), fr)).toBe(fr('errors.validation'));
    expect(errorText(new ApiError(422, 'VALIDATION_FAILED', 'The profile is invalid.'), fr)).toBe(fr('errors.profileInvalid'));
  });

  it.each(['en', 'fr', 'he', 'ar'])('every sentence a code may be given exists in %s', (lng) => {
    expect(CODE_TEXT_KEYS.length).toBeGreaterThan(50);
    for (const key of CODE_TEXT_KEYS) expect(i18n.exists(key, { lng }), `${key} in ${lng}`).toBe(true);
  });
});
