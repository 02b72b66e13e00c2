import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { inputClass } from './ui';
import { cn } from '@/lib/cn';
import type { Locale } from '@/lib/format/format';
import { datePartName, datePartOrder, joinDate, monthNames, splitDate } from '@/lib/format/date-parts';

/**
 * A date typed in the page's language: day, month (named) and year in the reader's order, each labelled, under one legend.
 * It replaces `<input type="date">`, whose "mm/dd/yyyy" follows the browser's locale whatever the page's language.
 * `value` and `onChange` use "YYYY-MM-DD", or "" for no date; `onChange` is called when the parts make a date or are all
 * emptied, not while one is being typed.
 */
export function DateField({ label, value, onChange, locale, className }: { label: string; value: string; onChange: (value: string) => void; locale: Locale; className?: string }) {
  const { t } = useTranslation();
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
  const complete = parts.day !== '' && parts.month !== '' && parts.year.length >= 4;
  const invalid = complete && joinDate(parts) === undefined;
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
    <fieldset className={cn('flex min-w-0 flex-col gap-1 text-sm', className)} aria-describedby={invalid ? `${id}-invalid` : undefined}>
      <legend className="mb-1 font-medium text-slate-700 dark:text-slate-300">{label}</legend>
      <div className="flex min-w-0 gap-1">
        {datePartOrder(locale).map((part) => (
          <span key={part} className={cn('flex', part === 'month' && 'min-w-0 flex-1')}>
            {control[part]}
          </span>
        ))}
      </div>
      {invalid ? (
        <p id={`${id}-invalid`} className="text-xs font-medium text-red-700 dark:text-red-300">
          {/* Said with the parts as typed, in the reader's words: "Cette date n’existe pas : 31 novembre 2026." */}
          {t('dateField.invalid', { date: [parts.day, months[Number(parts.month) - 1] ?? '', parts.year].join(' ') })}
        </p>
      ) : null}
    </fieldset>
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
