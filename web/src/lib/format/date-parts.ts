/**
 * A calendar date typed as three parts (day, month, year) in the reader's order, for the dashboard's date fields. A native
 * `<input type="date">` shows its placeholder and digits in the browser's locale, not the page's (Chromium ignores the
 * `lang` attribute there), so an Arabic or Hebrew page showed "mm/dd/yyyy". Pure, for Vitest.
 */
import { intlLocale, type Locale } from './format';

/** One of a date's parts, as Intl names them (`Intl.DateTimeFormat.prototype.formatToParts`, ECMA-402 §11.5.6). */
export type DatePart = 'day' | 'month' | 'year';

/** A date's parts in the order the reader writes them: `en` month day year, `fr`/`he`/`ar` day month year. */
export function datePartOrder(locale: Locale): DatePart[] {
  const parts = new Intl.DateTimeFormat(intlLocale(locale), { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }).formatToParts(
    new Date(Date.UTC(2026, 11, 25)),
  );
  const order = parts.map((p) => p.type).filter((t): t is DatePart => t === 'day' || t === 'month' || t === 'year');
  return order.length === 3 ? order : ['year', 'month', 'day'];
}

/** The twelve month names in the reader's language, January first ("janvier", "يناير", "ינואר"). */
export function monthNames(locale: Locale): string[] {
  const format = new Intl.DateTimeFormat(intlLocale(locale), { month: 'long', timeZone: 'UTC' });
  return Array.from({ length: 12 }, (_, m) => format.format(new Date(Date.UTC(2026, m, 15))));
}

/** The name of a date or time part in the reader's language ("day", "jour", "اليوم", "heure"), by `Intl.DisplayNames` (ECMA-402 §12). */
export function datePartName(part: DatePart | TimePart, locale: Locale): string {
  try {
    return new Intl.DisplayNames([intlLocale(locale)], { type: 'dateTimeField' }).of(part) ?? part;
  } catch {
    return part;
  }
}

/** Typed digits as Latin digits: Arabic-Indic (U+0660…) and Eastern Arabic-Indic (U+06F0…) ones too, spaces removed. */
function latinDigits(text: string): string {
  return text.replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660)).replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0)).replace(/\s/g, '');
}

/** The parts of a value "YYYY-MM-DD" (month "1"…"12"); empty parts for "" or anything else. */
export function splitDate(value: string): { day: string; month: string; year: string } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return m ? { year: m[1]!, month: String(Number(m[2])), day: String(Number(m[3])) } : { day: '', month: '', year: '' };
}

/**
 * The value "YYYY-MM-DD" the parts make; "" when all are empty (the filter is cleared); undefined while they make no date
 * (a part missing, a year not of four digits, 31 in a 30-day month).
 */
export function joinDate(parts: { day: string; month: string; year: string }): string | undefined {
  const [day, month, year] = [latinDigits(parts.day), parts.month, latinDigits(parts.year)];
  if (!day && !month && !year) return '';
  if (!/^\d{1,2}$/.test(day) || !/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year)) return undefined;
  const [d, m, y] = [Number(day), Number(month), Number(year)];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (m < 1 || m > 12 || d < 1 || date.getUTCDate() !== d || date.getUTCMonth() !== m - 1) return undefined;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** One of a time's parts, as Intl names them. */
export type TimePart = 'hour' | 'minute';

/**
 * The 24 hours of a day, midnight first, as the reader says an hour on its own: "12 a.m." … "5 p.m." in en-CA, "00 h" … "17 h"
 * in fr-CA, "5 م" in Arabic. An hour picker built from these reads in the page's language, where Chromium's own time picker
 * shows "05:00 PM" in its own language whatever the page's.
 */
export function hourNames(locale: Locale): string[] {
  const format = new Intl.DateTimeFormat(intlLocale(locale), { hour: 'numeric', timeZone: 'UTC' });
  return Array.from({ length: 24 }, (_, h) => format.format(new Date(Date.UTC(2026, 0, 1, h))));
}

/** A date and a time as typed: the date's parts, the hour ("0"…"23", "" for none) and the minutes as typed. */
export type DateTimeParts = { day: string; month: string; year: string; hour: string; minute: string };

/** The parts of a value "YYYY-MM-DDTHH:MM" (a datetime-local input's value); empty parts for "" or anything else. */
export function splitDateTime(value: string): DateTimeParts {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$/.exec(value);
  return m ? { ...splitDate(m[1]!), hour: String(Number(m[2])), minute: m[3]! } : { day: '', month: '', year: '', hour: '', minute: '' };
}

/** True when typed minutes are empty (read as ":00") or a number of minutes, 0 to 59. */
export function minuteIsValid(minute: string): boolean {
  const digits = latinDigits(minute);
  return digits === '' || (/^\d{1,2}$/.test(digits) && Number(digits) <= 59);
}

/**
 * The value "YYYY-MM-DDTHH:MM" the parts make (what a datetime-local input gives, so `instantInZone` reads it): empty
 * minutes are ":00" (the box shows "00" as its placeholder). "" when every part is empty; undefined while they make no
 * date and time (a date part or the hour missing, minutes past 59, no such date).
 */
export function joinDateTime(parts: DateTimeParts): string | undefined {
  const { hour, minute, ...date } = parts;
  const day = joinDate(date);
  if (day === '' && hour === '' && minute === '') return '';
  if (!day || !/^\d{1,2}$/.test(hour) || Number(hour) > 23 || !minuteIsValid(minute)) return undefined;
  return `${day}T${hour.padStart(2, '0')}:${(latinDigits(minute) || '0').padStart(2, '0')}`;
}

/** A time of day as typed: the hour ("0"…"23") and the minutes as typed. */
export type TimeParts = { hour: string; minute: string };

/** The parts of a value "HH:MM" (a time input's value, 24 h); an empty hour and minutes for anything else. */
export function splitTime(value: string): TimeParts {
  const m = /^(\d{2}):(\d{2})$/.exec(value);
  return m && Number(m[1]) <= 23 && Number(m[2]) <= 59 ? { hour: String(Number(m[1])), minute: m[2]! } : { hour: '', minute: '' };
}

/**
 * The value "HH:MM" (24 h, what a time input gives) the parts make: empty minutes are ":00", typed Arabic-Indic digits are
 * read as Latin ones. Undefined while they make no time (no hour, minutes past 59).
 */
export function joinTime(parts: TimeParts): string | undefined {
  if (!/^\d{1,2}$/.test(parts.hour) || Number(parts.hour) > 23 || !minuteIsValid(parts.minute)) return undefined;
  return `${parts.hour.padStart(2, '0')}:${(latinDigits(parts.minute) || '0').padStart(2, '0')}`;
}
