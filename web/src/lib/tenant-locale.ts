import { fieldErrors } from './field-errors';

/**
 * The locales an organisation can be set to (the onboarding profile's choices): the dashboard's languages (en, fr, he,
 * ar), with the regions whose phone numbers and formats the product is used for. The region is what phone numbers
 * typed without a country code are read in.
 */
export const TENANT_LOCALES = ['fr-CA', 'en-CA', 'en-US', 'fr-FR', 'he-IL', 'ar'] as const;

/** The locale a language without a matching region maps to. */
const BY_LANGUAGE: Readonly<Record<string, string>> = { en: 'en-US', fr: 'fr-FR', he: 'he-IL', iw: 'he-IL', ar: 'ar' };

/**
 * The organisation locale for a browser language (`navigator.language`, BCP 47): the same locale when it is one of
 * {@link TENANT_LOCALES} (`en-CA`), else the language's default (`fr-BE` → `fr-FR`, `he` → `he-IL`, `ar-EG` → `ar`);
 * undefined for a language the dashboard is not in (`es-MX`) or a malformed tag, so the server's default applies.
 */
export function tenantLocaleFor(language: string | undefined | null): string | undefined {
  if (!language) return undefined;
  let tag: string;
  try {
    [tag = ''] = Intl.getCanonicalLocales(language);
  } catch {
    return undefined;
  }
  const exact = TENANT_LOCALES.find((l) => l.toLowerCase() === tag.toLowerCase());
  if (exact) return exact;
  const lang = tag.split('-')[0]?.toLowerCase() ?? '';
  return Object.hasOwn(BY_LANGUAGE, lang) ? BY_LANGUAGE[lang] : undefined;
}

/** The browser's IANA time zone (`America/Toronto`), or undefined when it does not report one. */
export function browserTimeZone(): string | undefined {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return zone && zone.length <= 64 ? zone : undefined;
  } catch {
    return undefined;
  }
}

/** The sign-up fields the browser fills in by itself, which the owner sees no control for (the time zone has a picker). */
const BROWSER_FIELDS = ['locale'];

/**
 * True when a sign-up was refused only for what the browser sent by itself (a locale the server refuses): the page then
 * signs up again without it, on the default, rather than show the owner a problem they have no field to fix. A refused
 * time zone is shown beside its picker.
 */
export function refusedOnlyBrowserDefaults(error: unknown): boolean {
  const fields = Object.keys(fieldErrors(error));
  return fields.length > 0 && fields.every((f) => BROWSER_FIELDS.includes(f));
}
