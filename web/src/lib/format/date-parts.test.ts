import { describe, expect, it } from 'vitest';
import { datePartName, datePartOrder, joinDate, monthNames, splitDate } from './date-parts';

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
});
