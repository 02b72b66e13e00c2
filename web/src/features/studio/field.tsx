import { cloneElement, isValidElement, useId, type ReactElement, type ReactNode } from 'react';
import { cn } from '@/lib/cn';

/**
 * A labelled control: the label is tied by `for`/`id` rather than by wrapping, so a select's accessible name is its
 * label alone (a wrapping label would add every option's text to it). With `hint`, a line under the control describes
 * it (`aria-describedby`).
 */
export function Field({ label, children, className, hint }: { label: string; children: ReactNode; className?: string; hint?: string }) {
  const id = useId();
  const hintId = useId();
  const control = isValidElement(children)
    ? cloneElement(children as ReactElement<{ id?: string; 'aria-describedby'?: string }>, { id, ...(hint ? { 'aria-describedby': hintId } : {}) })
    : children;
  return (
    <div className={cn('flex flex-col gap-1 text-sm', className)}>
      <label htmlFor={id} className="font-medium text-slate-700 dark:text-slate-300">
        {label}
      </label>
      {control}
      {hint ? (
        <p id={hintId} className="text-xs text-slate-600 dark:text-slate-400">
          {hint}
        </p>
      ) : null}
    </div>
  );
}
