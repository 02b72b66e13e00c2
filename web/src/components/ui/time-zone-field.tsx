import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Field, inputClass } from './ui';
import { intlLocale, type Locale } from '@/lib/format/format';
import { resolveZoneName, timeZoneChoices, zoneLabel, zoneName } from '@/lib/time-zones';

/**
 * A labelled, searchable time zone picker: a text box with the IANA zones as suggestions (a native `<datalist>`, so
 * typing "toronto", "paris", "heure de l’Est" or "America/" narrows the list). The box shows the zone in words in the reader's
 * language ({@link zoneName}: "heure de l’Est (Toronto)", not `America/Toronto`); the id is what is saved, and the box
 * carries it as `data-zone`. `onChange` gets a zone id as soon as the text names one
 * ({@link resolveZone}: an id, a city, a linked city such as Montréal), so a form sent with Enter before the box is left
 * sends the typed zone; on leaving the box the text becomes that id. Other text stays in the box with a message under it
 * asking to pick from the list, and the box is invalid (`setCustomValidity`), so its form is not submitted with the
 * last valid zone: the browser focuses the box instead. `error` (the server's problem with the field) is shown the
 * same way but does not block.
 */
export function TimeZoneField({
  label,
  error,
  value,
  onChange,
  locale,
  suggest,
}: {
  label: string;
  /** The server's problem with the saved zone, if any. */
  error?: string;
  /** The saved zone id (`America/Toronto`). */
  value: string;
  onChange: (zone: string) => void;
  /** The reader's language, for the offsets in the list. */
  locale: string;
  /** A zone to keep in the list even if the browser's list lacks it (the browser's own zone). */
  suggest?: string;
}) {
  const { t } = useTranslation();
  const listId = useId();
  const zones = useMemo(() => timeZoneChoices([value, suggest]), [value, suggest]);
  // 'fr' is Québec French here (intlLocale): Intl's plain 'fr' names the zone "heure de l’Est nord-américain".
  const tag = intlLocale(locale as Locale);
  const names = useMemo(() => new Map(zones.map((z) => [z, zoneName(z, tag)])), [zones, tag]);
  const resolve = (typed: string) => resolveZoneName(typed, zones, names);
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? names.get(value) ?? value;
  const unknown = text !== null && resolve(text) === undefined;
  // Said once the box is left (or its form is sent), not at the first letter typed ("Montr" is on its way to a city).
  const [left, setLeft] = useState(false);
  const pickFromList = t('timeZone.pickFromList');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.setCustomValidity(unknown ? pickFromList : ''), [unknown, pickFromList]);
  const commit = (typed: string) => {
    const zone = resolve(typed);
    if (zone) {
      setText(null);
      if (zone !== value) onChange(zone);
    } else setText(typed);
  };
  return (
    <>
      <Field label={label} error={unknown && left ? pickFromList : error}>
        <input
          ref={input}
          className={inputClass}
          dir="auto"
          data-zone={value}
          list={listId}
          value={shown}
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => {
            // Picking a suggestion replaces the whole text with an id: take it at once. Typed text keeps its spelling
            // until the blur, but a zone it names is passed on now.
            const typed = e.target.value;
            setLeft(false);
            if (zones.some((z) => names.get(z) === typed)) return commit(typed);
            setText(typed);
            const zone = resolve(typed);
            if (zone && zone !== value) onChange(zone);
          }}
          onBlur={(e) => {
            setLeft(true);
            commit(e.target.value);
          }}
          onInvalid={() => setLeft(true)}
        />
      </Field>
      <datalist id={listId}>
        {zones.map((z) => (
          <option key={z} value={names.get(z) ?? z} label={`${z} · ${zoneLabel(z, tag)}`} />
        ))}
      </datalist>
    </>
  );
}
