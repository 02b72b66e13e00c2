import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { resources } from './resources';
import type { Locale } from '../format/format';

export const LOCALES: readonly Locale[] = ['en', 'fr', 'he', 'ar'];
const STORAGE_KEY = 'sb_lang';

/** The stored choice, else the browser's first supported language (fr-CA → fr), else English. */
export function initialLocale(): Locale {
  const stored = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  if (stored && (LOCALES as readonly string[]).includes(stored)) return stored as Locale;
  const langs = typeof navigator === 'undefined' ? [] : navigator.languages;
  for (const l of langs) {
    const base = l.toLowerCase().split('-')[0];
    if (base && (LOCALES as readonly string[]).includes(base)) return base as Locale;
  }
  return 'en';
}

/** Sets <html lang dir> for the language: Hebrew and Arabic are right to left. */
function applyDocument(lng: string) {
  document.documentElement.lang = lng;
  document.documentElement.dir = i18n.dir(lng);
}

void i18n.use(initReactI18next).init({
  resources: {
    en: { translation: resources.en },
    fr: { translation: resources.fr },
    he: { translation: resources.he },
    ar: { translation: resources.ar },
  },
  lng: initialLocale(),
  fallbackLng: 'en',
  supportedLngs: LOCALES as Locale[],
  nonExplicitSupportedLngs: true,
  interpolation: { escapeValue: false },
  returnNull: false,
  saveMissing: true,
  // A key missing from every language is a bug (browser tests fail on console errors); values with a
  // defaultValue (provider statuses we may not know) are not.
  missingKeyHandler: (_lngs, _ns, key, fallbackValue) => {
    if (fallbackValue === key) console.error(`Missing translation key: ${key}`);
  },
});
applyDocument(i18n.language);
i18n.on('languageChanged', (lng) => {
  localStorage.setItem(STORAGE_KEY, lng);
  applyDocument(lng);
});

export function currentLocale(): Locale {
  const l = i18n.resolvedLanguage ?? i18n.language;
  return (LOCALES as readonly string[]).includes(l) ? (l as Locale) : 'en';
}

export default i18n;
