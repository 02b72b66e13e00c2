import { useCallback, useRef } from 'react';

/**
 * The focus handed back to a button that a form or a confirmation replaces while open (Add endpoint, Edit, Revoke): the
 * first item is the button's ref callback, and the second, `restore()` (the form cancelled, saved, or its secret noted)
 * focuses it now if shown, else as soon as it is shown again.
 * Without it the focus went to the page's body with the button, and a keyboard user started again from the top
 * (WCAG 2.4.3 Focus Order).
 */
export function useReturnFocus<T extends HTMLElement>(): [
  ref: (element: T | null) => void,
  restore: () => void,
] {
  const element = useRef<T | null>(null);
  const pending = useRef(false);
  const ref = useCallback((shown: T | null) => {
    element.current = shown;
    if (shown && pending.current) {
      pending.current = false;
      shown.focus();
    }
  }, []);
  const restore = useCallback(() => {
    if (element.current) element.current.focus();
    else pending.current = true;
  }, []);
  return [ref, restore];
}

/** A control that can take the focus now: in the document, not disabled. */
function focusable(
  element: Element | null | undefined,
): element is HTMLElement {
  return (
    element instanceof HTMLElement &&
    element.isConnected &&
    !(element as HTMLButtonElement).disabled
  );
}

/** The first enabled button of a list row (`li`), if any. */
function firstAction(row: Element): HTMLElement | null {
  return [...row.querySelectorAll('button')].find(focusable) ?? null;
}

/**
 * Moves the focus to the nearest sensible place when the control that had it is gone for good (a revoked key's actions,
 * a rotated key's Rotate), in this order: `trigger` if it is still there and enabled; else, with `sameRow`, the first
 * enabled button left in `row` (its list item); else the first enabled button of the rows after it; else `fallback` (the
 * list's heading, focusable with `tabIndex={-1}`). Call it once the page shows the new state, or with `sameRow: false`
 * while the row still shows the controls about to go.
 */
export function focusNeighbour({
  trigger,
  row,
  sameRow,
  fallback,
}: {
  trigger?: HTMLElement | null;
  row: HTMLElement | null;
  sameRow: boolean;
  fallback: HTMLElement | null;
}): void {
  if (focusable(trigger)) {
    trigger.focus();
    return;
  }
  if (row?.isConnected) {
    const own = sameRow ? firstAction(row) : null;
    if (own) {
      own.focus();
      return;
    }
    for (
      let next = row.nextElementSibling;
      next;
      next = next.nextElementSibling
    ) {
      const action = firstAction(next);
      if (action) {
        action.focus();
        return;
      }
    }
  }
  fallback?.focus();
}
