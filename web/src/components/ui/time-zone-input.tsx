import { useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { inputClass } from './ui';
import { resolveZone, timeZoneChoices, zoneLabel } from '@/lib/time-zones';

/**
 * A searchable time zone picker: a text box with the IANA zones as suggestions (a native `<datalist>`, so typing
 * "toronto" or "paris" narrows the list). `onChange` gets a zone id only when the text names one
 * ({@link resolveZone}); other text stays in the box with a message asking to pick from the list, and nothing is sent.
 * Give it to `Field` as its child: the `aria-*` props it adds land on the text box.
 */
export function TimeZoneInput({
  value,
  onChange,
  locale,
  suggest,
  ...aria
}: {
  /** The saved zone id (`America/Toronto`). */
  value: string;
  onChange: (zone: string) => void;
  /** The reader's language, for the offsets in the list. */
  locale: string;
  /** A zone to keep in the list even if the browser's list lacks it (the browser's own zone). */
  suggest?: string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
}) {
  const { t } = useTranslation();
  const listId = useId();
  const problemId = useId();
  const zones = useMemo(() => timeZoneChoices([value, suggest]), [value, suggest]);
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? value;
  const unknown = text !== null && resolveZone(text, zones) === undefined;
  const commit = (typed: string) => {
    const zone = resolveZone(typed, zones);
    if (zone) {
      setText(null);
      if (zone !== value) onChange(zone);
    } else setText(typed);
  };
  return (
    <>
      <input
        className={inputClass}
        dir="ltr"
        list={listId}
        value={shown}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={unknown || aria['aria-invalid'] || undefined}
        aria-describedby={[aria['aria-describedby'], unknown ? problemId : null].filter(Boolean).join(' ') || undefined}
        onChange={(e) => {
          // Picking a suggestion replaces the whole text with an id: take it at once. Typing waits for the blur.
          const typed = e.target.value;
          if (zones.includes(typed)) commit(typed);
          else setText(typed);
        }}
        onBlur={(e) => commit(e.target.value)}
      />
      <datalist id={listId}>
        {zones.map((z) => (
          <option key={z} value={z} label={zoneLabel(z, locale)} />
        ))}
      </datalist>
      {unknown ? (
        <span id={problemId} className="text-xs font-medium text-red-700 dark:text-red-300">
          {t('timeZone.pickFromList')}
        </span>
      ) : null}
    </>
  );
}
