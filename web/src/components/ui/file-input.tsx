import { useId, type Ref } from 'react';
import { useTranslation } from 'react-i18next';
import { inputClass } from './ui';
import { cn } from '@/lib/cn';

/**
 * A file picker that speaks the page's language: a "Choose a file" button and the picked file's name (or "No file
 * chosen"), in place of what Chromium draws inside `<input type="file">` ("Choose File · No file chosen"), which follows
 * the browser's own language whatever the dashboard's, as the native date input did (`DateField` replaced it likewise).
 * The real input stays in the page, visually hidden, so the keyboard and screen readers reach it as before: it is named
 * `label` and described by the file's name, and its box shows the focus ring. The whole box opens the browser's file
 * dialog when clicked (it is meant to sit in a `Field`, whose `<label>` wraps it). `onChange` gets the picked file, or
 * null when the input holds none; `accept` is the input's (MIME types and extensions, comma-separated).
 */
export function FileInput({ label, accept, file, onChange, inputRef }: { label: string; accept?: string; file: File | null; onChange: (file: File | null) => void; inputRef?: Ref<HTMLInputElement> }) {
  const { t } = useTranslation();
  const nameId = useId();
  return (
    <span className={cn(inputClass, 'flex cursor-pointer items-center gap-3 focus-within:outline-2 focus-within:outline-offset-1 focus-within:outline-brand-500')}>
      <input ref={inputRef} className="sr-only" type="file" accept={accept} aria-label={label} aria-describedby={nameId} onChange={(e) => onChange(e.target.files?.[0] ?? null)} />
      <span aria-hidden className="shrink-0 rounded bg-slate-100 px-2 py-1 dark:bg-slate-700 dark:text-slate-100">
        {t('fileInput.choose')}
      </span>
      <span id={nameId} dir="auto" className={cn('min-w-0 truncate', !file && 'text-slate-600 dark:text-slate-400')}>
        {file ? file.name : t('fileInput.none')}
      </span>
    </span>
  );
}
