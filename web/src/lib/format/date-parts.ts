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

/** The name of a date part in the reader's language ("day", "jour", "اليوم"), by `Intl.DisplayNames` (ECMA-402 §12). */
export function datePartName(part: DatePart, locale: Locale): string {
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
