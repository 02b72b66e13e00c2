import { describe, expect, it } from 'vitest';
import { ApiError } from './api/client';
import { refusedOnlyBrowserDefaults, tenantLocaleFor, TENANT_LOCALES } from './tenant-locale';

describe('tenantLocaleFor', () => {
  it.each([
    ['en-CA', 'en-CA'],
    ['en-ca', 'en-CA'],
    ['fr-CA', 'fr-CA'],
    ['en-US', 'en-US'],
    ['en', 'en-US'],
    ['en-GB', 'en-US'],
    ['fr', 'fr-FR'],
    ['fr-BE', 'fr-FR'],
    ['he', 'he-IL'],
    ['he-IL', 'he-IL'],
    ['iw', 'he-IL'],
    ['ar', 'ar'],
    ['ar-EG', 'ar'],
  ])('maps the browser language %s to %s', (language, locale) => {
    expect(tenantLocaleFor(language)).toBe(locale);
  });

  it.each([['es-MX'], ['de'], [''], [undefined], ['not a tag!']])('sends nothing for %s (the server default applies)', (language) => {
    expect(tenantLocaleFor(language)).toBeUndefined();
  });

  it('only ever answers a locale the profile step offers', () => {
    for (const language of ['en-AU', 'fr-CH', 'he', 'ar-MA', 'en-CA']) expect(TENANT_LOCALES).toContain(tenantLocaleFor(language));
  });
});

describe('refusedOnlyBrowserDefaults', () => {
  const refused = (details: Record<string, string>) => new ApiError(422, 'VALIDATION_FAILED', 'Some fields are invalid.', undefined, details);

  it('is true when only the locale was refused', () => {
    expect(refusedOnlyBrowserDefaults(refused({ locale: 'must be a culture such as fr-CA' }))).toBe(true);
  });

  it('is false when the time zone was refused: the sign-up form shows it beside its picker', () => {
    expect(refusedOnlyBrowserDefaults(refused({ timeZone: 'must be an IANA time zone such as America/Toronto' }))).toBe(false);
    expect(refusedOnlyBrowserDefaults(refused({ timeZone: 'x', locale: 'y' }))).toBe(false);
  });

  it('is false when a field the owner filled in was refused too, or for any other failure', () => {
    expect(refusedOnlyBrowserDefaults(refused({ timeZone: 'x', email: 'must be a valid email address' }))).toBe(false);
    expect(refusedOnlyBrowserDefaults(new ApiError(409, 'EMAIL_TAKEN', 'An account with this email exists: sign in instead.'))).toBe(false);
    expect(refusedOnlyBrowserDefaults(new TypeError('Failed to fetch'))).toBe(false);
  });
});
