import { describe, expect, it } from 'vitest';
import i18next from 'i18next';
import { resources } from './i18n/resources';
import { ApiError } from './api/client';
import { errorText } from './error-text';

const i18n = i18next.createInstance();
await i18n.init({
  resources: Object.fromEntries(Object.entries(resources).map(([lng, tree]) => [lng, { translation: tree }])),
  lng: 'en',
  fallbackLng: false,
});

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

  it('the envelope’s message and other errors are shown as they are', () => {
    const t = i18n.getFixedT('en');
    expect(errorText(new ApiError(409, 'EMAIL_TAKEN', 'That email is already a member.'), t)).toBe('That email is already a member.');
    expect(errorText(new TypeError("Cannot read properties of undefined (reading 'x')"), t)).toContain('Cannot read');
  });
});
