import { cloneElement, isValidElement, useCallback, useId, useLayoutEffect, useRef, type ButtonHTMLAttributes, type Ref, type HTMLAttributes, type ReactElement, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { cn } from '@/lib/cn';
import { errorText } from '@/lib/error-text';
import { fieldErrors, fieldProblemText } from '@/lib/field-errors';

type Variant = 'primary' | 'secondary' | 'ghost' | 'danger';

const variants: Record<Variant, string> = {
  primary: 'bg-brand-600 text-white hover:bg-brand-700 disabled:hover:bg-brand-600',
  secondary:
    'border border-slate-300 bg-white text-slate-800 hover:bg-slate-100 disabled:hover:bg-white dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100 dark:hover:bg-slate-800 dark:disabled:hover:bg-slate-900',
  ghost: 'text-slate-700 hover:bg-slate-100 disabled:hover:bg-transparent dark:text-slate-200 dark:hover:bg-slate-800 dark:disabled:hover:bg-transparent',
  danger: 'bg-red-700 text-white hover:bg-red-800 disabled:hover:bg-red-700',
};

/** Every variant looks unavailable when disabled: faded, no hover change, a not-allowed cursor. */
const base =
  'inline-flex min-h-9 items-center justify-center gap-2 rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50 aria-disabled:cursor-not-allowed aria-disabled:opacity-50';

/**
 * A button in one of the dashboard's variants. A button disabled while it has the focus (a submit button disabled while its
 * request runs: `disabled={mutation.isPending}`) takes the focus back when it is enabled again, if nothing else took it
 * meanwhile: the browser moves the focus of a disabled control to the page's body (HTML's focus fixup rule), so a keyboard
 * user who pressed Enter on it was sent back to the top of the page when the request failed, away from the form and its
 * error (WCAG 2.4.3 Focus Order).
 */
export function Button({ variant = 'secondary', className, disabled, ref, ...props }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; ref?: Ref<HTMLButtonElement> }) {
  const own = useRef<HTMLButtonElement | null>(null);
  const focusedWhenDisabled = useRef(false);
  // A layout effect runs after `disabled` is set and before the browser's next rendering update, where the focus fixup
  // moves the focus away: the button still has it here.
  useLayoutEffect(() => {
    const button = own.current;
    if (!button) return;
    if (disabled) {
      if (document.activeElement === button) focusedWhenDisabled.current = true;
    } else if (focusedWhenDisabled.current) {
      focusedWhenDisabled.current = false;
      if (document.activeElement === null || document.activeElement === document.body) button.focus();
    }
  }, [disabled]);
  const setRef = useCallback(
    (button: HTMLButtonElement | null) => {
      own.current = button;
      if (typeof ref === 'function') ref(button);
      else if (ref) ref.current = button;
    },
    [ref],
  );
  return (
    <button
      ref={setRef}
      type="button"
      className={cn(base, variants[variant], className)}
      disabled={disabled}
      {...props}
    />
  );
}

/** Class names for links styled as buttons. */
export function buttonClass(variant: Variant = 'secondary', className?: string): string {
  return cn(base, variants[variant], className);
}

export function Card({ className, ...props }: HTMLAttributes<HTMLElement>) {
  return (
    <section
      className={cn('rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900', className)}
      {...props}
    />
  );
}

/**
 * A page's `h1` with its actions. `headingRef`: the heading is made focusable by script (`tabIndex={-1}`, not in the tab
 * order), for a page that sends the focus back to it when the control that had it is gone.
 */
export function PageTitle({ children, actions, headingRef }: { children: ReactNode; actions?: ReactNode; headingRef?: Ref<HTMLHeadingElement> }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
      <h1 ref={headingRef} tabIndex={headingRef ? -1 : undefined} className="text-xl font-semibold">
        {children}
      </h1>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

const tones = {
  red: 'bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200',
  amber: 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200',
  green: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200',
  blue: 'bg-sky-100 text-sky-900 dark:bg-sky-950 dark:text-sky-200',
  slate: 'bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-200',
} as const;
export type Tone = keyof typeof tones;

export function Badge({ tone = 'slate', children }: { tone?: Tone; children: ReactNode }) {
  return <span className={cn('inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap', tones[tone])}>{children}</span>;
}

export function urgencyTone(urgency: string | null | undefined): Tone {
  if (urgency === 'emergency') return 'red';
  if (urgency === 'urgent' || urgency === 'soon') return 'amber';
  if (urgency === 'routine') return 'green';
  return 'slate';
}

/** A phone number, ID or amount isolated left to right inside any text direction. */
export function Ltr({ children }: { children: ReactNode }) {
  return <bdi dir="ltr">{children}</bdi>;
}

/**
 * A failed request as an alert. For a validation failure the message is the summary; the problems of fields the form
 * shows beside their controls (`shownFields`) are left to those controls, the others are listed under the summary.
 * `details` gives the field problems when `error` is already a sentence (e.g. `accountError`'s translation).
 */
export function ErrorMessage({ error, details, shownFields = [] }: { error: unknown; details?: unknown; shownFields?: readonly string[] }) {
  const { t } = useTranslation();
  if (!error) return null;
  const message = errorText(error, t);
  const others = Object.entries(fieldErrors(details ?? error)).filter(([field]) => !shownFields.includes(field));
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-sm break-words text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
      <p>{message}</p>
      {others.length > 0 ? (
        <ul className="mt-1 list-disc ps-5">
          {others.map(([field, problem]) => (
            <li key={field}>
              <bdi>{field}</bdi>: {fieldProblemText(problem, t)}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/**
 * The problem the server found with each field of a failed request, in the reader's language when it is one of the
 * usual sentences: `problem('email')` is the text to pass to {@link Field}'s `error`, or undefined.
 */
export function useFieldProblems(error: unknown): (field: string) => string | undefined {
  const { t } = useTranslation();
  const details = fieldErrors(error);
  return (field) => {
    const problem = details[field];
    return problem === undefined ? undefined : fieldProblemText(problem, t);
  };
}

/** A field's problem, under its control; the control points at it with `aria-describedby`. */
export function FieldProblem({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} className="text-xs font-medium break-words text-red-700 dark:text-red-300">
      {message}
    </p>
  );
}

/**
 * A labelled control. With `error`, the problem is shown under the control, which gets `aria-invalid` and an
 * `aria-describedby` pointing at it (kept alongside any description it already had). With `hint` (e.g. a native date
 * picker's value said again in the dashboard's language: `formatPickedDate`), a line under the control describes it too.
 */
export function Field({ label, children, className, error, hint }: { label: string; children: ReactNode; className?: string; error?: string; hint?: string }) {
  const errorId = useId();
  const hintId = useId();
  let control = children;
  if ((error || hint) && isValidElement(children)) {
    const el = children as ReactElement<{ 'aria-describedby'?: string; 'aria-invalid'?: boolean }>;
    const describedBy = [el.props['aria-describedby'], hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ');
    control = cloneElement(el, { ...(error ? { 'aria-invalid': true } : {}), 'aria-describedby': describedBy });
  }
  return (
    // min-w-0 lets the field shrink in a grid or flex row (a select with long options must not widen the page), unless
    // the caller sets its own minimum width.
    <div className={cn('flex flex-col gap-1 text-sm', !className?.includes('min-w-') && 'min-w-0', className)}>
      <label className="flex min-w-0 flex-col gap-1">
        <span className="font-medium text-slate-700 dark:text-slate-300">{label}</span>
        {control}
      </label>
      {hint ? (
        <p id={hintId} className="text-xs text-slate-600 dark:text-slate-400">
          {hint}
        </p>
      ) : null}
      <FieldProblem id={errorId} message={error} />
    </div>
  );
}

export const inputClass =
  'min-h-9 min-w-0 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100 aria-invalid:border-red-600 dark:aria-invalid:border-red-500';
