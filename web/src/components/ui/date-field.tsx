import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { inputClass } from './ui';
import { cn } from '@/lib/cn';
import type { Locale } from '@/lib/format/format';
import { datePartName, datePartOrder, hourNames, joinDate, joinDateTime, joinTime, minuteIsValid, monthNames, splitDate, splitDateTime, splitTime, type DateTimeParts, type TimeParts } from '@/lib/format/date-parts';

/**
 * A date typed in the page's language: day, month (named) and year in the reader's order, each labelled, under one legend.
 * It replaces `<input type="date">`, whose "mm/dd/yyyy" follows the browser's locale whatever the page's language.
 * `value` and `onChange` use "YYYY-MM-DD", or "" for no date; `onChange` is called when the parts make a date or are all
 * emptied, not while one is being typed.
 */
export function DateField({ label, value, onChange, locale, className }: { label: string; value: string; onChange: (value: string) => void; locale: Locale; className?: string }) {
  const id = useId();
  const [parts, setParts] = useState(() => splitDate(value));
  // A value changed from outside (the URL, a reset) replaces what was typed, unless it is what the parts already make
  // (React's "adjusting state when a prop changes": set during render, no effect).
  const [shown, setShown] = useState(value);
  if (value !== shown) {
    setShown(value);
    if (joinDate(parts) !== value) setParts(splitDate(value));
  }
  const update = (patch: Partial<typeof parts>) => {
    const next = { ...parts, ...patch };
    setParts(next);
    const joined = joinDate(next);
    if (joined !== undefined && joined !== value) onChange(joined);
  };
  const invalid = dateInvalid(parts);
  return (
    <fieldset className={cn('flex min-w-0 flex-col gap-1 text-sm', className)} aria-describedby={invalid ? `${id}-invalid` : undefined}>
      <legend className="mb-1 font-medium text-slate-700 dark:text-slate-300">{label}</legend>
      <DateParts parts={parts} locale={locale} invalid={invalid} update={update} />
      {invalid ? <DateProblem id={`${id}-invalid`} parts={parts} locale={locale} /> : null}
    </fieldset>
  );
}

/**
 * A date and a time typed in the page's language: the {@link DateField}'s day, month and year, then an hour picked from
 * the hours as the reader says them ("5 p.m.", "17 h") and the minutes (empty is ":00"), all under one legend. It replaces
 * `<input type="datetime-local">`, which Chromium draws in its own language ("12/01/2026, 09:00 AM") whatever the page's.
 * `value` and `onChange` use the datetime-local format "YYYY-MM-DDTHH:MM" (a wall-clock time, no zone), or "" while the
 * parts make no date and time (some empty, minutes past 59, 31 November). `hint` describes the group (e.g. the picked time
 * said in full with its zone).
 */
export function DateTimeField({ label, value, onChange, locale, hint, className }: { label: string; value: string; onChange: (value: string) => void; locale: Locale; hint?: string; className?: string }) {
  const { t } = useTranslation();
  const id = useId();
  const [parts, setParts] = useState(() => splitDateTime(value));
  const [shown, setShown] = useState(value);
  if (value !== shown) {
    setShown(value);
    if (joinDateTime(parts) !== value) setParts(splitDateTime(value));
  }
  const update = (patch: Partial<DateTimeParts>) => {
    const next = { ...parts, ...patch };
    setParts(next);
    // Unlike a filter, the value is a form's: while the parts make no time it is "", so a time typed earlier is never
    // submitted after a part was cleared or mistyped. `shown` follows, so that "" does not wipe the parts being typed.
    const joined = joinDateTime(next) ?? '';
    if (joined !== value) {
      setShown(joined);
      onChange(joined);
    }
  };
  const invalid = dateInvalid(parts);
  const badMinute = !minuteIsValid(parts.minute);
  const described = [hint ? `${id}-hint` : '', invalid ? `${id}-invalid` : '', badMinute ? `${id}-minute` : ''].filter(Boolean).join(' ');
  return (
    <fieldset className={cn('flex min-w-0 flex-col gap-1 text-sm', className)} aria-describedby={described || undefined}>
      <legend className="mb-1 font-medium text-slate-700 dark:text-slate-300">{label}</legend>
      <div className="flex min-w-0 flex-wrap gap-1">
        <DateParts className="flex-1 basis-56" parts={parts} locale={locale} invalid={invalid} update={update} />
        <span className="flex gap-1">
          <HourMinute parts={parts} locale={locale} update={update} clearable minuteWidth="w-16" />
        </span>
      </div>
      {/* w-0 min-w-full: the hint wraps at the controls' width instead of widening the group (it stretched the month's
          select to 290 px at 1280 px). */}
      {hint ? (
        <p id={`${id}-hint`} className="w-0 min-w-full text-xs text-slate-600 dark:text-slate-400">
          {hint}
        </p>
      ) : null}
      {invalid ? <DateProblem id={`${id}-invalid`} parts={parts} locale={locale} /> : null}
      {badMinute ? (
        <p id={`${id}-minute`} className="text-xs font-medium text-red-700 dark:text-red-300">
          {t('dateField.invalidMinute')}
        </p>
      ) : null}
    </fieldset>
  );
}

/**
 * A time of day typed in the page's language: an hour picked from the hours as the reader says them ("8 a.m." in en-CA,
 * "08 h" in fr-CA, "8 ص" in Arabic: `Intl`'s own hour cycle for the locale) and the minutes, in one group named `label`.
 * It replaces `<input type="time">`, which Chromium draws in its own language ("08:30 AM") whatever the page's.
 * `value` and `onChange` use "HH:MM" (24 h, a time input's value); `onChange` is called when the parts make a time (empty
 * minutes are ":00"), not while the minutes are mistyped (past 59), which are then marked invalid and explained.
 */
export function TimeField({ label, value, onChange, locale, className }: { label: string; value: string; onChange: (value: string) => void; locale: Locale; className?: string }) {
  const { t } = useTranslation();
  const id = useId();
  const [parts, setParts] = useState(() => splitTime(value));
  const [shown, setShown] = useState(value);
  if (value !== shown) {
    setShown(value);
    if (joinTime(parts) !== value) setParts(splitTime(value));
  }
  const update = (patch: Partial<TimeParts>) => {
    const next = { ...parts, ...patch };
    setParts(next);
    const joined = joinTime(next);
    if (joined !== undefined && joined !== value) {
      setShown(joined);
      onChange(joined);
    }
  };
  const badMinute = !minuteIsValid(parts.minute);
  return (
    <span role="group" aria-label={label} className={cn('inline-flex flex-wrap items-center gap-1', className)}>
      <HourMinute parts={parts} locale={locale} update={update} minuteWidth="w-14" minuteDescribedBy={badMinute ? `${id}-minute` : undefined} />
      {badMinute ? (
        <span id={`${id}-minute`} className="basis-full text-xs font-medium text-red-700 dark:text-red-300">
          {t('dateField.invalidMinute')}
        </span>
      ) : null}
    </span>
  );
}

/**
 * The hour picked from the hours as the reader says them (`hourNames`: "5 p.m.", "17 h", "5 م") and the minutes' box
 * (two digits, empty is ":00"), each labelled in the reader's language; the part shared by {@link DateTimeField} and
 * {@link TimeField}, which own the parts' state and the minutes' error message. `clearable` keeps the hour's empty choice
 * once an hour is picked (a date-time may be emptied again); without it the empty choice shows only until one is.
 * `minuteWidth` is the minutes' box's Tailwind width class; `minuteDescribedBy` the id of the text explaining a bad minute.
 */
function HourMinute({ parts, locale, update, clearable = false, minuteWidth, minuteDescribedBy }: { parts: TimeParts; locale: Locale; update: (patch: Partial<TimeParts>) => void; clearable?: boolean; minuteWidth: string; minuteDescribedBy?: string }) {
  const hourName = datePartName('hour', locale);
  return (
    <>
      <select className={cn(inputClass, 'w-auto')} aria-label={hourName} value={parts.hour} onChange={(e) => update({ hour: e.target.value })}>
        {clearable || parts.hour === '' ? <option value="">{hourName}</option> : null}
        {hourNames(locale).map((name, h) => (
          <option key={h} value={String(h)}>
            {name}
          </option>
        ))}
      </select>
      <input
        className={cn(inputClass, minuteWidth, 'text-center tabular-nums')}
        inputMode="numeric"
        autoComplete="off"
        maxLength={2}
        placeholder="00"
        aria-label={datePartName('minute', locale)}
        aria-invalid={!minuteIsValid(parts.minute) || undefined}
        aria-describedby={minuteDescribedBy}
        value={parts.minute}
        onChange={(e) => update({ minute: e.target.value })}
      />
    </>
  );
}

/** True when the day, month and a four-digit year are all typed but make no date (31 November). */
function dateInvalid(parts: { day: string; month: string; year: string }): boolean {
  return parts.day !== '' && parts.month !== '' && parts.year.length >= 4 && joinDate(parts) === undefined;
}

/** The day, month (named) and year boxes in the reader's order. */
function DateParts({ parts, locale, invalid, update, className }: { className?: string; parts: { day: string; month: string; year: string }; locale: Locale; invalid: boolean; update: (patch: { day?: string; month?: string; year?: string }) => void }) {
  const months = monthNames(locale);
  const control = {
    day: <NumberPart part="day" digits={2} width="w-14" locale={locale} invalid={invalid} value={parts.day} onChange={(day) => update({ day })} />,
    month: (
      <select className={cn(inputClass, 'min-w-0 flex-1')} aria-label={datePartName('month', locale)} aria-invalid={invalid || undefined} value={parts.month} onChange={(e) => update({ month: e.target.value })}>
        <option value="">{datePartName('month', locale)}</option>
        {months.map((name, i) => (
          <option key={i} value={String(i + 1)}>
            {name}
          </option>
        ))}
      </select>
    ),
    year: <NumberPart part="year" digits={4} width="w-20" locale={locale} invalid={invalid} value={parts.year} onChange={(year) => update({ year })} />,
  };
  return (
    <div className={cn('flex min-w-0 gap-1', className)}>
      {datePartOrder(locale).map((part) => (
        <span key={part} className={cn('flex', part === 'month' && 'min-w-0 flex-1')}>
          {control[part]}
        </span>
      ))}
    </div>
  );
}

/** Why the typed date is refused, with the parts as typed, in the reader's words: "Cette date n’existe pas : 31 novembre 2026." */
function DateProblem({ id, parts, locale }: { id: string; parts: { day: string; month: string; year: string }; locale: Locale }) {
  const { t } = useTranslation();
  const months = monthNames(locale);
  return (
    <p id={id} className="text-xs font-medium text-red-700 dark:text-red-300">
      {t('dateField.invalid', { date: [parts.day, months[Number(parts.month) - 1] ?? '', parts.year].join(' ') })}
    </p>
  );
}

/** The day's or the year's box: digits only (`maxLength` = `digits`), named in the reader's language. */
function NumberPart({ part, digits, width, locale, invalid, value, onChange }: { part: 'day' | 'year'; digits: number; width: string; locale: Locale; invalid: boolean; value: string; onChange: (value: string) => void }) {
  const name = datePartName(part, locale);
  return (
    <input
      className={cn(inputClass, width, 'text-center tabular-nums')}
      inputMode="numeric"
      autoComplete="off"
      maxLength={digits}
      placeholder={name}
      aria-label={name}
      aria-invalid={invalid || undefined}
      value={value}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}
