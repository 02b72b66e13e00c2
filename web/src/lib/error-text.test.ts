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

  it.each([
    ['en', 'Your plan (Starter) does not include custom branding.'],
    ['fr', 'Votre forfait (Démarrage) n’inclut pas l’image de marque personnalisée.'],
    ['he', 'התוכנית שלך (בסיסי) אינה כוללת מיתוג מותאם אישית.'],
    ['ar', 'لا تشمل خطتك (الأساسية) العلامة التجارية المخصّصة.'],
  ])('a feature not in the plan is worded from its code and details in %s, whatever the message says', (lng, expected) => {
    // The message is not read for the feature: a server that rewords it (or translates it) still gets the right sentence.
    const error = new ApiError(403, 'FEATURE_NOT_IN_PLAN', 'Branding is a Pro thing.', undefined, { feature: 'custom_branding', plan: 'starter' });
    expect(errorText(error, i18n.getFixedT(lng))).toBe(expected);
  });

  it('a feature not in the plan names the plan in the reader’s language, and an unknown plan by the server’s name', () => {
    const fr = i18n.getFixedT('fr');
    const free = new ApiError(403, 'FEATURE_NOT_IN_PLAN', 'The Free plan does not include webhooks.', undefined, { feature: 'webhooks', plan: 'free' });
    expect(errorText(free, fr)).toBe('Votre forfait (Gratuit) n’inclut pas l’envoi d’événements (webhooks).');
    const gold = new ApiError(403, 'FEATURE_NOT_IN_PLAN', 'The Gold Plus plan does not include API access.', undefined, { feature: 'api_access', plan: 'gold-plus' });
    expect(errorText(gold, fr)).toBe('Votre forfait (Gold Plus) n’inclut pas l’accès à l’API.');
  });

  it('a feature not in the plan without details, or an unknown feature, keeps the server’s message', () => {
    const fr = i18n.getFixedT('fr');
    expect(errorText(new ApiError(403, 'FEATURE_NOT_IN_PLAN', 'The Starter plan does not include call recording.'), fr)).toBe(
      'The Starter plan does not include call recording.',
    );
    const unknown = new ApiError(403, 'FEATURE_NOT_IN_PLAN', 'The Starter plan does not include time travel.', undefined, { feature: 'time_travel', plan: 'starter' });
    expect(errorText(unknown, fr)).toBe('The Starter plan does not include time travel.');
  });

  it('a used-up chat quota gives the plan and the number of messages in the reader’s language', () => {
    const error = new ApiError(429, 'CHAT_QUOTA_EXCEEDED', "The Free plan's 500 chat messages this month are used up.", undefined, { quota: 500, period: '2026-12', plan: 'free' });
    expect(errorText(error, i18n.getFixedT('fr'))).toBe('Votre forfait (Gratuit) inclut 500 messages de clavardage par mois, et ceux de ce mois-ci sont épuisés.');
    expect(errorText(error, i18n.getFixedT('ar'))).toContain('500');
    expect(errorText(error, i18n.getFixedT('ar'))).not.toMatch(/used up|Free/);
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
