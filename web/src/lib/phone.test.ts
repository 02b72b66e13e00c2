import { describe, expect, it } from 'vitest';
import { isE164, normalisePhone, parsePhoneList, splitPhones } from './phone';

describe('phone numbers typed in settings', () => {
  it('a number written with spaces, as the studio hint shows it, is one E.164 number', () => {
    expect(parsePhoneList('+1 514 555 0222')).toEqual({ numbers: ['+15145550222'], invalid: null });
  });

  it('dashes, dots and parentheses are separators too', () => {
    expect(normalisePhone('+1 (514) 555-0222')).toBe('+15145550222');
    expect(normalisePhone('+1.514.555.0222')).toBe('+15145550222');
    expect(normalisePhone('(514) 555-0222')).toBe('5145550222');
  });

  it('several numbers are separated by commas, semicolons, lines, or a space before a plus', () => {
    expect(splitPhones('+1 514 555 0111, +1 514 555 0100')).toEqual(['+1 514 555 0111', '+1 514 555 0100']);
    expect(parsePhoneList('+15145550111 +15145550100').numbers).toEqual(['+15145550111', '+15145550100']);
    expect(parsePhoneList('+15145550111;\n+15145550100').numbers).toEqual(['+15145550111', '+15145550100']);
  });

  it('duplicates are dropped once normalised', () => {
    expect(parsePhoneList('+1 514 555 0111, +15145550111').numbers).toEqual(['+15145550111']);
  });

  it('text that is not a number is refused and named', () => {
    expect(parsePhoneList('+15145550111, call Bob').invalid).toBe('call Bob');
    expect(parsePhoneList('+1 514').invalid).toBe('+1 514');
    expect(parsePhoneList('+0 514 555 0111').invalid).toBe('+0 514 555 0111');
  });

  it('an empty field is an empty list', () => {
    expect(parsePhoneList('  ')).toEqual({ numbers: [], invalid: null });
  });

  it('only E.164 numbers are dialable', () => {
    expect(isE164('+15145550177')).toBe(true);
    expect(isE164('anonymous')).toBe(false);
    expect(isE164('514 555 0177')).toBe(false);
    expect(isE164(null)).toBe(false);
  });
});
