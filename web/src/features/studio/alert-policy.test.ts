import { describe, expect, it } from 'vitest';
import { createTestI18n } from '@/lib/i18n/test-instance';
import { inheritedHint, inheritedOffice, inheritedOnCall, numbersForSentence, numbersText } from './alert-policy';

const i18n = await createTestI18n();
const business = { onCallNumbers: ['+15145550111'], officeNumbers: ['+15145550100', '+15145550101'] };
const noOffice = { onCallNumbers: ['+15145550111'], officeNumbers: [] };
const nothing = { onCallNumbers: [], officeNumbers: [] };

describe('what an assistant’s empty alert list inherits (the server’s AlertPolicy.For, then AlertService)', () => {
  it('an empty on-call list gets the business’s on-call numbers, or nobody when it has none', () => {
    expect(inheritedOnCall(business)).toEqual({ kind: 'business', numbers: ['+15145550111'] });
    expect(inheritedOnCall(nothing)).toEqual({ kind: 'nobody' });
  });

  it('an empty office list gets the business’s office numbers first', () => {
    expect(inheritedOffice(business, '')).toEqual({ kind: 'business', numbers: ['+15145550100', '+15145550101'] });
    expect(inheritedOffice(business, '+15145550999')).toEqual({ kind: 'business', numbers: ['+15145550100', '+15145550101'] });
  });

  it('without office numbers, routine leads go to the on-call numbers that apply: the assistant’s own, else the business’s', () => {
    expect(inheritedOffice(noOffice, '514-555-0999')).toEqual({ kind: 'onCall', numbers: [] });
    expect(inheritedOffice(noOffice, '')).toEqual({ kind: 'onCall', numbers: ['+15145550111'] });
    expect(inheritedOffice(nothing, '  ')).toEqual({ kind: 'nobody' });
    // What is not a number typed in the on-call field is no number: the business's apply.
    expect(inheritedOffice(noOffice, 'ask Marc')).toEqual({ kind: 'onCall', numbers: ['+15145550111'] });
  });
});

describe('the hint under an empty alert field', () => {
  it('names the business’s numbers, formatted and isolated left to right', () => {
    expect(numbersForSentence(['+15145550111', '+15145550100'])).toBe('\u2066+1 514-555-0111\u2069, \u2066+1 514-555-0100\u2069');
    const hint = inheritedHint('onCall', inheritedOnCall(business));
    expect(i18n.getFixedT('en')(hint.key, { numbers: hint.numbers })).toBe("Empty: the business's on-call numbers apply (\u2066+1 514-555-0111\u2069).");
  });

  it.each(['en', 'fr', 'he', 'ar'])('every case has its sentence in %s, with the numbers in it', (lng) => {
    const t = i18n.getFixedT(lng);
    for (const [field, inherited] of [
      ['onCall', inheritedOnCall(business)],
      ['onCall', inheritedOnCall(nothing)],
      ['office', inheritedOffice(business, '')],
      ['office', inheritedOffice(noOffice, '')],
      ['office', inheritedOffice(noOffice, '+15145550999')],
      ['office', inheritedOffice(nothing, '')],
    ] as const) {
      const hint = inheritedHint(field, inherited);
      const text = t(hint.key, { numbers: hint.numbers });
      expect(text).not.toBe(hint.key);
      if (hint.numbers) expect(text).toContain(hint.numbers);
    }
  });

  it('a list field shows stored numbers separated by commas', () => {
    expect(numbersText(['+15145550111', '+15145550100'])).toBe('+15145550111, +15145550100');
    expect(numbersText(null)).toBe('');
  });
});
