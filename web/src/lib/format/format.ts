/**
 * Formatting through Intl in the tenant's time zone (not the browser's): dates, times, durations, phone numbers.
 * Every function is pure so Vitest covers it without a browser.
 */

export type Locale = 'en' | 'fr' | 'he' | 'ar';

/** BCP 47 tag used by Intl: Québec French, Hebrew and Arabic with Latin digits for phone-like data. */
export function intlLocale(locale: Locale): string {
  switch (locale) {
    case 'fr':
      return 'fr-CA';
    case 'he':
      return 'he-IL';
    case 'ar':
      return 'ar';
    default:
      return 'en-CA';
  }
}

/**
 * A language tag as its name in the reader's language: "fr-CA" → "French (Canada)", "français (Canada)", "الفرنسية (كندا)".
 * A tag Intl cannot name (malformed, or unknown to the browser) is shown as it is.
 */
export function formatLanguage(tag: string, locale: Locale): string {
  try {
    const name = new Intl.DisplayNames([intlLocale(locale)], { type: 'language', languageDisplay: 'standard', fallback: 'none' }).of(tag);
    return name && name.toLowerCase() !== tag.toLowerCase() ? name : tag;
  } catch {
    return tag;
  }
}

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "30 Nov 2026, 14:05" style date and time in the tenant's zone; "" when missing. */
export function formatDateTime(iso: string | null | undefined, locale: Locale, timeZone: string): string {
  const d = parse(iso);
  if (!d) return '';
  return new Intl.DateTimeFormat(intlLocale(locale), { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(d);
}

/** Time of day only, in the tenant's zone. */
export function formatTime(iso: string | null | undefined, locale: Locale, timeZone: string): string {
  const d = parse(iso);
  if (!d) return '';
  return new Intl.DateTimeFormat(intlLocale(locale), { timeStyle: 'medium', timeZone }).format(d);
}

/** A calendar day "YYYY-MM-DD" (analytics buckets) as a short localized date, read as a plain date (no zone shift). */
export function formatDay(day: string, locale: Locale): string {
  const d = parse(`${day}T12:00:00Z`);
  if (!d) return day;
  return new Intl.DateTimeFormat(intlLocale(locale), { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d);
}

/** A usage period "YYYY-MM" (UsageMeter.PeriodOf) as a localized month and year ("December 2026", "décembre 2026"); anything else as given. */
export function formatMonth(period: string, locale: Locale): string {
  const d = /^\d{4}-\d{2}$/.test(period) ? parse(`${period}-15T12:00:00Z`) : null;
  if (!d) return period;
  return new Intl.DateTimeFormat(intlLocale(locale), { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(d);
}

/*
 * A native date or time picker shows its value in the browser's own language and conventions (Chromium ignores the
 * page's and the input's `lang`), so a French dashboard in an English Chromium shows "12/05/2026" and "05:00 PM". The
 * functions below say the picked value again in the dashboard's language, beside the picker. The values are wall-clock
 * values as the inputs give them (no zone), so they are read and written in UTC, never shifted.
 */

/** A date input's value "YYYY-MM-DD" in full in the reader's language ("Friday, December 25, 2026"); "" when empty or not a date. */
export function formatPickedDate(value: string, locale: Locale): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return '';
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12));
  if (d.getUTCDate() !== Number(m[3])) return '';
  return new Intl.DateTimeFormat(intlLocale(locale), { dateStyle: 'full', timeZone: 'UTC' }).format(d);
}

/** A time input's value "HH:MM" (or "24:00", the end of a day) in the reader's language ("5:00 p.m.", "17 h 00"); "" when not a time. */
export function formatPickedTime(value: string, locale: Locale): string {
  const m = /^(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$/.exec(value);
  if (!m) return '';
  const [h, min] = [Number(m[1]), Number(m[2])];
  if (h > 24 || min > 59 || (h === 24 && min > 0)) return '';
  const d = new Date(Date.UTC(2000, 0, 1, h === 24 ? 23 : h, h === 24 ? 59 : min));
  return new Intl.DateTimeFormat(intlLocale(locale), { hour: 'numeric', minute: '2-digit', timeZone: 'UTC' }).format(d);
}

/** A datetime-local input's value "YYYY-MM-DDTHH:MM" in the reader's language ("Friday, December 25, 2026 at 5:00 p.m."); "" when invalid. */
export function formatPickedDateTime(value: string, locale: Locale): string {
  const [day = '', time = ''] = value.split('T');
  const date = formatPickedDate(day, locale);
  if (!date || !formatPickedTime(time, locale)) return '';
  const [h, min] = time.split(':').map(Number) as [number, number];
  const [y, mo, dd] = day.split('-').map(Number) as [number, number, number];
  const d = new Date(Date.UTC(y, mo - 1, dd, h, min));
  return new Intl.DateTimeFormat(intlLocale(locale), { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' }).format(d);
}

/**
 * `text` between the quotation marks of the language it is written in (a BCP 47 tag such as "en-US" or "fr-CA"): French
 * « text » with no-break spaces (so a mark never starts a line), English and anything else “text”. A template's first
 * message is quoted in its own language, whatever the dashboard's: the gallery showed English ones as « Hello, … ».
 */
export function quoted(text: string, language: string): string {
  return language.toLowerCase().split('-')[0] === 'fr' ? `«\u00a0${text}\u00a0»` : `“${text}”`;
}

/** Seconds as m:ss or h:mm:ss (digits stay Latin so durations line up in tables). */
export function formatDuration(seconds: number | string | null | undefined): string {
  if (seconds === null || seconds === undefined || seconds === '') return '';
  const total = Math.max(0, Math.round(Number(seconds)));
  if (!Number.isFinite(total)) return '';
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Milliseconds as "850ms" or "1.2s" (below or from a second), in the language's own unit abbreviation. */
export function formatLatency(ms: number | string | null | undefined, locale: Locale): string {
  if (ms === null || ms === undefined || ms === '') return '';
  const n = Number(ms);
  if (!Number.isFinite(n)) return '';
  // The unit is the language's own abbreviation (ECMA-402 unit style: "850 ms", "1,5 s", "850 ملي ث"), digits Latin.
  // English is narrow ("850ms", "1.2s"): CLDR's short English-Canadian form is "850 millisecs".
  const nf = (unit: 'millisecond' | 'second', digits: number) =>
    new Intl.NumberFormat(intlLocale(locale), {
      style: 'unit',
      unit,
      unitDisplay: locale === 'en' ? 'narrow' : 'short',
      maximumFractionDigits: digits,
      numberingSystem: 'latn',
    });
  return n < 1000 ? nf('millisecond', 0).format(n) : nf('second', 1).format(n / 1000);
}

/** North American numbers as +1 514-555-0100; anything else stays as given (E.164). */
export function formatPhone(e164: string | null | undefined): string {
  if (!e164) return '';
  const digits = e164.replace(/[^0-9]/g, '');
  if (e164.startsWith('+1') && digits.length === 11) {
    return `+1 ${digits.slice(1, 4)}-${digits.slice(4, 7)}-${digits.slice(7)}`;
  }
  return e164;
}

/** A number in the locale with Latin digits. */
export function formatNumber(n: number | string | null | undefined, locale: Locale, maximumFractionDigits = 0): string {
  if (n === null || n === undefined || n === '') return '';
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  return new Intl.NumberFormat(intlLocale(locale), { maximumFractionDigits, numberingSystem: 'latn' }).format(v);
}

/** Money in USD (provider costs are in USD). */
export function formatCost(n: number | string | null | undefined, locale: Locale): string {
  if (n === null || n === undefined || n === '') return '';
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  return new Intl.NumberFormat(intlLocale(locale), { style: 'currency', currency: 'USD', maximumFractionDigits: 2, numberingSystem: 'latn' }).format(v);
}

/** A plan price in USD, the same on every page: no cents for whole amounts ("$149" in English, "149 $ US" in French). */
export function formatPrice(n: number | string | null | undefined, locale: Locale): string {
  if (n === null || n === undefined || n === '') return '';
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  const digits = Number.isInteger(v) ? 0 : 2;
  return new Intl.NumberFormat(intlLocale(locale), {
    style: 'currency',
    currency: 'USD',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    numberingSystem: 'latn',
  }).format(v);
}

/** Start of the day `daysAgo` days before `now`, in the given zone, as an ISO instant (for the date presets). */
export function startOfDayInZone(now: Date, timeZone: string, daysAgo = 0): string {
  const { year, month, day } = zoneDay(now, timeZone);
  const localMidnightAsUtc = Date.UTC(year, month - 1, day - daysAgo);
  // The zone's offset at that moment: format the UTC guess back in the zone and correct by the difference.
  const offsetMs = zoneOffsetMs(new Date(localMidnightAsUtc), timeZone);
  return new Date(localMidnightAsUtc - offsetMs).toISOString();
}

/**
 * The calendar day of `now` in `timeZone`, as numbers (month 1–12). Read from `formatToParts`, never from a formatted
 * string: no locale's short date is guaranteed to be year-month-day (CLDR 42, in Chrome 110, wrote en-CA as 12/1/2026).
 */
function zoneDay(now: Date, timeZone: string): { year: number; month: number; day: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', numberingSystem: 'latn' }).formatToParts(now);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { year: get('year'), month: get('month'), day: get('day') };
}

/** Offset of `timeZone` from UTC at `at`, in milliseconds (positive east of Greenwich). */
export function zoneOffsetMs(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The instant a wall-clock value means in `timeZone`, as an ISO 8601 UTC timestamp: a datetime-local input's
 * "YYYY-MM-DDTHH:MM" read in the tenant's zone, not the browser's (`new Date(value)` reads it in the browser's).
 * A time a spring-forward gap skips is read with the offset before the change (02:30 on a 02:00→03:00 night is
 * 03:30); a time an autumn fold repeats, as its first occurrence. Null when the value is not such a wall-clock time.
 */
export function instantInZone(value: string, timeZone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, min, sec] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, min, sec);
  const check = new Date(asUtc);
  if (check.getUTCDate() !== d || check.getUTCHours() !== h || check.getUTCMinutes() !== min) return null;
  // Two passes: the zone's offset near the guess, then at the instant it gives (they differ only across a change).
  const before = zoneOffsetMs(new Date(asUtc - 12 * 3_600_000), timeZone);
  const first = asUtc - before;
  const after = zoneOffsetMs(new Date(first), timeZone);
  const second = asUtc - after;
  // The earlier reading that is right (the fold's first occurrence); else the one with the offset before the change.
  const fits = (instant: number) => instant + zoneOffsetMs(new Date(instant), timeZone) === asUtc;
  const instant = [Math.min(first, second), Math.max(first, second)].find(fits) ?? first;
  return new Date(instant).toISOString();
}

/**
 * The calendar date in `timeZone`, `daysAgo` days before `now`, in ISO 8601 (`YYYY-MM-DD`: what the API's date
 * parameters take, Platform/Http/IsoDates.cs), whatever the browser's locale data.
 */
export function localDate(now: Date, timeZone: string, daysAgo = 0): string {
  const { year, month, day } = zoneDay(now, timeZone);
  return new Date(Date.UTC(year, month - 1, day - daysAgo, 12)).toISOString().slice(0, 10);
}
