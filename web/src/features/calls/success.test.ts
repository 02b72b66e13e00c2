import { describe, expect, it } from 'vitest';
import i18next from 'i18next';
import { resources } from '@/lib/i18n/resources';
import { successText } from './success';

const i18n = i18next.createInstance();
await i18n.init({
  resources: Object.fromEntries(Object.entries(resources).map(([lng, tree]) => [lng, { translation: tree }])),
  lng: 'en',
  fallbackLng: false,
});

describe('successText', () => {
  it.each([
    ['en', 'Yes', 'No'],
    ['fr', 'Oui', 'Non'],
    ['he', 'כן', 'לא'],
    ['ar', 'نعم', 'لا'],
  ])('the default rubric reads as yes/no in %s, not "true"/"false"', (lng, yes, no) => {
    const t = i18n.getFixedT(lng);
    expect(successText('true', t)).toBe(yes);
    expect(successText('false', t)).toBe(no);
  });

  it('other rubrics are shown as written', () => {
    const t = i18n.getFixedT('en');
    expect(successText('8', t)).toBe('8');
    expect(successText('Pass', t)).toBe('Pass');
  });
});
