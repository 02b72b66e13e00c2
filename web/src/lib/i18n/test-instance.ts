import i18next, { type i18n as I18n } from 'i18next';
import { resources } from './resources';

/**
 * A fresh i18next instance over the app's resources, for unit tests that translate without React: English first, no
 * fallback language (a missing key shows as the key, so a test can see it), and values interpolated as they are, as in the
 * app (`i18n/index.ts`: React escapes what it renders).
 */
export async function createTestI18n(): Promise<I18n> {
  const instance = i18next.createInstance();
  await instance.init({
    resources: Object.fromEntries(Object.entries(resources).map(([lng, tree]) => [lng, { translation: tree }])),
    lng: 'en',
    fallbackLng: false,
    interpolation: { escapeValue: false },
  });
  return instance;
}
