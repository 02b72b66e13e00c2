import { describe, expect, it } from 'vitest';
import { datePartName, datePartOrder, hourNames, joinDate, joinDateTime, joinTime, minuteIsValid, monthNames, splitDate, splitDateTime, splitTime } from './date-parts';

describe('date parts', () => {
  it('puts the parts in the reader’s order and names the months in the reader’s language', () => {
    expect(datePartOrder('en')).toEqual(['month', 'day', 'year']);
    for (const locale of ['fr', 'he', 'ar'] as const) expect(datePartOrder(locale)).toEqual(['day', 'month', 'year']);
    expect(monthNames('fr')[0]).toBe('janvier');
    expect(monthNames('ar')[11]).toBe('ديسمبر');
    expect(monthNames('he')[0]).toBe('ינואר');
    expect(datePartName('day', 'fr')).toBe('jour');
    expect(datePartName('year', 'ar')).not.toBe('year');
  });

  it('makes a value from the parts only when they are a date, and clears it when all are empty', () => {
    expect(joinDate({ day: '7', month: '12', year: '2026' })).toBe('2026-12-07');
    expect(joinDate({ day: '٧', month: '12', year: '٢٠٢٦' })).toBe('2026-12-07'); // Arabic-Indic digits as typed on an Arabic keyboard
    expect(joinDate({ day: '', month: '', year: '' })).toBe('');
    expect(joinDate({ day: '31', month: '11', year: '2026' })).toBeUndefined();
    expect(joinDate({ day: '29', month: '2', year: '2026' })).toBeUndefined();
    expect(joinDate({ day: '7', month: '', year: '2026' })).toBeUndefined();
    expect(joinDate({ day: '7', month: '12', year: '26' })).toBeUndefined();
    expect(splitDate('2026-02-05')).toEqual({ day: '5', month: '2', year: '2026' });
    expect(splitDate('')).toEqual({ day: '', month: '', year: '' });
  });

  it('names the hours as the reader says them, not as Chromium’s picker does (05:00 PM)', () => {
    expect(hourNames('en')).toHaveLength(24);
    expect(hourNames('en')[17]).toMatch(/^5\sp\.m\.$/);
    expect(hourNames('fr')[17]).toMatch(/^17\sh$/);
    expect(hourNames('fr')[0]).toMatch(/^0?0\sh$/);
    expect(hourNames('ar')[17]).not.toMatch(/PM/);
    expect(datePartName('hour', 'fr')).toBe('heure');
  });

  it('makes a datetime-local value from a date, an hour and minutes, minutes left empty being :00', () => {
    const parts = { day: '1', month: '12', year: '2026', hour: '9', minute: '' };
    expect(joinDateTime(parts)).toBe('2026-12-01T09:00');
    expect(joinDateTime({ ...parts, hour: '17', minute: '5' })).toBe('2026-12-01T17:05');
    expect(joinDateTime({ ...parts, minute: '٣٠' })).toBe('2026-12-01T09:30');
    expect(joinDateTime({ day: '', month: '', year: '', hour: '', minute: '' })).toBe('');
    expect(joinDateTime({ ...parts, hour: '' })).toBeUndefined();
    expect(joinDateTime({ ...parts, minute: '60' })).toBeUndefined();
    expect(joinDateTime({ ...parts, day: '31', month: '11' })).toBeUndefined();
    expect(minuteIsValid('60')).toBe(false);
    expect(minuteIsValid('')).toBe(true);
    expect(splitDateTime('2026-12-01T09:05')).toEqual({ day: '1', month: '12', year: '2026', hour: '9', minute: '05' });
    expect(splitDateTime('')).toEqual({ day: '', month: '', year: '', hour: '', minute: '' });
  });
});

describe('time of day', () => {
  it('splits a time input value into an hour and minutes, and nothing else', () => {
    expect(splitTime('08:30')).toEqual({ hour: '8', minute: '30' });
    expect(splitTime('00:00')).toEqual({ hour: '0', minute: '00' });
    expect(splitTime('24:00')).toEqual({ hour: '', minute: '' });
    expect(splitTime('8:30')).toEqual({ hour: '', minute: '' });
  });

  it('joins the parts into the same 24 h value, empty minutes as :00', () => {
    expect(joinTime({ hour: '8', minute: '30' })).toBe('08:30');
    expect(joinTime({ hour: '17', minute: '' })).toBe('17:00');
    expect(joinTime({ hour: '9', minute: '٠٥' })).toBe('09:05');
    expect(joinTime({ hour: '', minute: '30' })).toBeUndefined();
    expect(joinTime({ hour: '9', minute: '60' })).toBeUndefined();
    expect(joinTime({ hour: '24', minute: '00' })).toBeUndefined();
    for (const v of ['00:00', '09:05', '23:59']) expect(joinTime(splitTime(v))).toBe(v);
  });
});
