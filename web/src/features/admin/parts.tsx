import { ReturnToBanner as SharedReturnToBanner } from '@/components/layout/return-to-banner';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Check, Copy } from 'lucide-react';
import { Button, inputClass } from '@/components/ui/ui';

/**
 * A secret shown this once (API key, webhook signing secret): read-only, selectable, with a copy button. The
 * clipboard may be refused (permissions, insecure origin): the value stays selectable and the failure is said.
 * It takes the focus when it appears (the form that made it is reset, and focus would fall back to the page), so a
 * keyboard or screen-reader user lands on the value, selected, ready to copy.
 */
export function SecretOnce({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), [value]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div role="region" aria-label={label} className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950">
      <p className="mb-2 font-medium">{t('admin.secret.once')}</p>
      <div className="flex flex-wrap items-center gap-2">
        <input
          ref={input}
          readOnly
          aria-label={label}
          dir="ltr"
          className={`${inputClass} min-w-0 flex-1 font-mono`}
          value={value}
          onFocus={(e) => e.currentTarget.select()}
        />
        <Button onClick={() => void copy()}>
          {copied === 'yes' ? <Check aria-hidden className="size-4" /> : <Copy aria-hidden className="size-4" />}
          {copied === 'yes' ? t('admin.secret.copied') : t('admin.secret.copy')}
        </Button>
        <Button variant="primary" onClick={onDone}>
          {t('admin.secret.done')}
        </Button>
      </div>
      {copied === 'failed' ? <p className="mt-2 text-xs">{t('admin.secret.copyFailed')}</p> : null}
    </div>
  );
}

export { safeReturnTo } from '@/lib/return-to';

/** The shared "Back to onboarding" banner, fed from this page's `?returnTo=`. */
export function ReturnToBanner() {
  const search: { returnTo?: unknown } = useSearch({ strict: false });
  return <SharedReturnToBanner returnTo={search.returnTo} />;
}

/** A labelled usage bar: value against a limit (limit 0: no bar). */
export function Meter({ label, value, max, text }: { label: string; value: number; max: number; text: ReactNode }) {
  const pct = max > 0 ? Math.min(100, Math.round((100 * value) / max)) : 0;
  const tone = pct >= 100 ? 'bg-red-600' : pct >= 80 ? 'bg-amber-500' : 'bg-brand-600';
  return (
    <div className="flex flex-col gap-1">
      <div className="flex flex-wrap justify-between gap-2 text-sm">
        <span className="font-medium">{label}</span>
        <span className="text-slate-600 dark:text-slate-400">{text}</span>
      </div>
      {max > 0 ? (
        <div
          role="meter"
          aria-label={label}
          aria-valuemin={0}
          aria-valuemax={max}
          aria-valuenow={Math.min(value, max)}
          className="h-2 overflow-hidden rounded bg-slate-200 dark:bg-slate-800"
        >
          <div className={`h-full ${tone}`} style={{ width: `${pct}%` }} />
        </div>
      ) : null}
    </div>
  );
}

/** A short message announced politely (saved, queued, erased…). */
export function Notice({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p role="status" className="rounded-md border border-emerald-300 bg-emerald-50 p-2 text-sm text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-200">
      {children}
    </p>
  );
}
