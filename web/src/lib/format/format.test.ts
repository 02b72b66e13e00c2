import { describe, expect, it } from 'vitest';
import { localDate, formatDateTime, formatDuration, formatLatency, formatPhone, startOfDayInZone, zoneOffsetMs, formatDay, formatLanguage, formatMonth, formatPrice, formatPickedDate, formatPickedDateTime, formatPickedTime, instantInZone, quoted } from './format';

describe('format', () => {
  it('formats durations as m:ss and h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65.4)).toBe('1:05');
    expect(formatDuration('3725')).toBe('1:02:05');
    expect(formatDuration(null)).toBe('');
  });

  it('formats North American numbers and leaves others as E.164', () => {
    expect(formatPhone('+15145550100')).toBe('+1 514-555-0100');
    expect(formatPhone('+972501234567')).toBe('+972501234567');
    expect(formatPhone(null)).toBe('');
  });

  it('formats latency in ms below a second and in seconds above', () => {
    expect(formatLatency(850, 'en')).toBe('850ms');
    expect(formatLatency(1234, 'en')).toBe('1.2s');
  });

  it('says the latency unit in the reader language, not a raw "ms"', () => {
    expect(formatLatency(1234, 'fr')).toMatch(/^1,2\ss$/);
    expect(formatLatency(850, 'ar')).not.toContain('ms');
    expect(formatLatency(850, 'ar')).toMatch(/^850 .*ث/);
  });

  it('shows times in the tenant time zone, not the browser one', () => {
    const iso = '2026-11-30T19:05:00Z';
    expect(formatDateTime(iso, 'en', 'America/Toronto')).toContain('2:05');
    expect(formatDateTime(iso, 'en', 'Asia/Jerusalem')).toContain('9:05');
  });

  it('computes the start of the tenant day across offsets', () => {
    const now = new Date('2026-11-30T03:00:00Z'); // still 29 Nov in Montréal (UTC-5)
    expect(startOfDayInZone(now, 'America/Toronto')).toBe('2026-11-29T05:00:00.000Z');
    expect(startOfDayInZone(now, 'UTC', 1)).toBe('2026-11-29T00:00:00.000Z');
    expect(zoneOffsetMs(now, 'America/Toronto')).toBe(-5 * 3600 * 1000);
  });

  it('reads analytics days as plain dates', () => {
    expect(formatDay('2026-11-30', 'en')).toBe('Nov 30');
  });

  it('names a usage period by its month, in the reader\'s language', () => {
    expect(formatMonth('2026-12', 'en')).toBe('December 2026');
    expect(formatMonth('2026-12', 'fr')).toBe('décembre 2026');
    expect(formatMonth('2026-01', 'ar')).not.toContain('2026-01');
    expect(formatMonth('soon', 'en')).toBe('soon');
  });
});

describe('localDate', () => {
  it('gives the tenant calendar day and counts back across months', () => {
    const now = new Date('2026-12-01T03:00:00Z'); // still 30 Nov in Montréal
    expect(localDate(now, 'America/Toronto')).toBe('2026-11-30');
    expect(localDate(now, 'UTC')).toBe('2026-12-01');
    expect(localDate(now, 'America/Toronto', 29)).toBe('2026-11-01');
  });

  it('is ISO 8601 whatever the locale data writes en-CA as (CLDR 42, in Chrome 110: 12/1/2026)', () => {
    // `format` is an accessor on Intl.DateTimeFormat.prototype (ECMA-402 §11.3.3): replaced for this test, then restored.
    const proto = Intl.DateTimeFormat.prototype;
    const original = Object.getOwnPropertyDescriptor(proto, 'format');
    Object.defineProperty(proto, 'format', { configurable: true, get: () => () => '12/1/2026' });
    try {
      const now = new Date('2026-12-01T15:00:00Z');
      expect(localDate(now, 'America/Toronto')).toBe('2026-12-01');
      expect(localDate(now, 'America/Toronto', 6)).toBe('2026-11-25');
      expect(startOfDayInZone(now, 'America/Toronto', 6)).toBe('2026-11-25T05:00:00.000Z');
    } finally {
      if (original) Object.defineProperty(proto, 'format', original);
    }
  });

  it('names languages in the reader’s language instead of showing their tags', () => {
    expect(formatLanguage('fr-CA', 'en')).toBe('French (Canada)');
    expect(formatLanguage('he-IL', 'fr')).toBe('hébreu (Israël)');
    expect(formatLanguage('ar', 'ar')).toBe('العربية');
    expect(formatLanguage('en-US', 'he')).toBe('אנגלית (ארצות הברית)');
    expect(formatLanguage('not a tag!', 'en')).toBe('not a tag!');
    expect(formatLanguage('qaa', 'en')).toBe('qaa');
  });
});

describe('formatPrice', () => {
  it('shows a plan price the same way on every page, in the UI language', () => {
    expect(formatPrice(149, 'en')).toMatch(/^US\$149$|^\$149$/);
    expect(formatPrice(149, 'fr')).toMatch(/^149\s\$\s?US$/);
    expect(formatPrice(49.5, 'en')).toContain('49.50');
    expect(formatPrice(null, 'en')).toBe('');
  });
});


describe('picked values (native pickers say them in the browser’s language)', () => {
  it('a picked day reads in full in the dashboard’s language, whatever the machine’s zone', () => {
    expect(formatPickedDate('2026-12-25', 'en')).toBe('Friday, December 25, 2026');
    expect(formatPickedDate('2026-12-25', 'fr')).toBe('vendredi 25 décembre 2026');
    expect(formatPickedDate('2026-12-25', 'ar')).toMatch(/ديسمبر/);
    expect(formatPickedDate('2026-12-25', 'he')).toMatch(/דצמבר/);
  });

  it('an empty or impossible day reads as nothing', () => {
    expect(formatPickedDate('', 'fr')).toBe('');
    expect(formatPickedDate('2026-02-30', 'fr')).toBe('');
    expect(formatPickedDate('25/12/2026', 'fr')).toBe('');
  });

  it('a picked time follows the language’s clock (17 h 00, not 05:00 PM)', () => {
    expect(formatPickedTime('17:00', 'fr')).toBe('17 h 00');
    expect(formatPickedTime('17:00', 'en')).toMatch(/^5:00\sp\.m\.$/);
    expect(formatPickedTime('24:00', 'fr')).toBe('23 h 59'); // the end of the day, as the picker shows it
    expect(formatPickedTime('25:00', 'fr')).toBe('');
    expect(formatPickedTime('', 'fr')).toBe('');
  });

  it('a picked date and time reads both', () => {
    expect(formatPickedDateTime('2026-12-05T17:30', 'fr')).toMatch(/^samedi 5 décembre 2026.*17 h 30$/);
    expect(formatPickedDateTime('2026-12-05', 'fr')).toBe('');
  });
});

describe('quoted', () => {
  it('uses the quotation marks of the text\'s own language', () => {
    expect(quoted('Hello, this is Paul.', 'en-US')).toBe('“Hello, this is Paul.”');
    expect(quoted('Bonjour, ici Paul.', 'fr-CA')).toBe('«\u00a0Bonjour, ici Paul.\u00a0»');
    expect(quoted('Bonjour', 'fr')).toBe('«\u00a0Bonjour\u00a0»');
  });
});

describe('instantInZone', () => {
  it('reads a picked date and time in the tenant’s zone, not the browser’s', () => {
    // The same wall-clock value is a different instant in Montreal, Jerusalem and UTC, whatever zone the tests run in.
    expect(instantInZone('2026-12-05T17:30', 'America/Toronto')).toBe('2026-12-05T22:30:00.000Z');
    expect(instantInZone('2026-12-05T17:30', 'Asia/Jerusalem')).toBe('2026-12-05T15:30:00.000Z');
    expect(instantInZone('2026-12-05T17:30', 'UTC')).toBe('2026-12-05T17:30:00.000Z');
    expect(instantInZone('2026-07-05T17:30', 'America/Toronto')).toBe('2026-07-05T21:30:00.000Z'); // summer time
  });

  it('is defined across a clock change: a skipped time moves forward, a repeated one is its first occurrence', () => {
    expect(instantInZone('2026-03-08T02:30', 'America/Toronto')).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
    expect(instantInZone('2026-11-01T01:30', 'America/Toronto')).toBe('2026-11-01T05:30:00.000Z'); // 01:30 EDT
    expect(instantInZone('2026-11-01T03:00', 'America/Toronto')).toBe('2026-11-01T08:00:00.000Z'); // 03:00 EST
  });

  it('refuses what is not a wall-clock date and time', () => {
    expect(instantInZone('', 'UTC')).toBeNull();
    expect(instantInZone('2026-12-05', 'UTC')).toBeNull();
    expect(instantInZone('2026-02-30T10:00', 'UTC')).toBeNull();
    expect(instantInZone('2026-12-05T25:00', 'UTC')).toBeNull();
  });
});
