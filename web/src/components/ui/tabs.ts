import { useId, type HTMLAttributes, type KeyboardEvent } from 'react';

/** The props {@link useTabs} gives each tab button: spread them on a `<button type="button">`. */
export interface TabProps {
  id: string;
  role: 'tab';
  'aria-selected': boolean;
  'aria-controls': string;
  tabIndex: 0 | -1;
  onClick: () => void;
  onKeyDown: (e: KeyboardEvent<HTMLElement>) => void;
}

/** The props {@link useTabs} gives the panel of the selected tab. */
export interface TabPanelProps {
  id: string;
  role: 'tabpanel';
  'aria-labelledby': string;
  tabIndex: 0;
}

/**
 * The keyboard and ARIA wiring of a tab strip, after WAI-ARIA Authoring Practices 1.2 "Tabs" (automatic activation):
 *
 * - the list is `role="tablist"` (give it an `aria-label`); each tab is `role="tab"` with `aria-selected` and
 *   `aria-controls` naming the panel; the panel is `role="tabpanel"`, labelled by its tab (`aria-labelledby`) and in the
 *   Tab order itself (`tabIndex` 0, as the pattern gives a panel with nothing focusable first);
 * - roving tabindex: only the selected tab is in the Tab order (`tabIndex` 0), the others are -1, so Tab goes from the
 *   strip straight to the panel;
 * - ArrowRight / ArrowLeft focus and select the next / previous tab, wrapping at either end; in a right-to-left page
 *   (the nearest `dir` attribute, as the dashboard sets `<html dir>` for Arabic and Hebrew) they are swapped, so the
 *   arrow points where the focus goes; Home / End focus and select the first / last tab.
 *
 * One panel is rendered, for the selected tab: its id is the selected tab's panel id, so every tab's `aria-controls`
 * names the panel shown when that tab is selected. Ids come from `useId`, unique on the page.
 *
 * @param tabs the tabs' keys, in visual (reading) order.
 * @param selected the selected tab's key (controlled by the caller).
 * @param onSelect called with a tab's key when it is clicked or reached with the keyboard.
 * @returns `list` for the tablist element, `tab(key)` for each tab button and `panel` for the panel.
 */
export function useTabs<K extends string>(
  tabs: readonly K[],
  selected: K,
  onSelect: (key: K) => void,
): { list: Pick<HTMLAttributes<HTMLElement>, 'role'>; tab: (key: K) => TabProps; panel: TabPanelProps } {
  const base = useId();
  const tabId = (key: K) => `${base}-tab-${key}`;
  const panelId = (key: K) => `${base}-panel-${key}`;

  const move = (from: K, e: KeyboardEvent<HTMLElement>) => {
    const at = tabs.indexOf(from);
    const rtl = e.currentTarget.closest('[dir]')?.getAttribute('dir')?.toLowerCase() === 'rtl';
    let to: number;
    switch (e.key) {
      case 'ArrowRight':
        to = at + (rtl ? -1 : 1);
        break;
      case 'ArrowLeft':
        to = at + (rtl ? 1 : -1);
        break;
      case 'Home':
        to = 0;
        break;
      case 'End':
        to = tabs.length - 1;
        break;
      default:
        return;
    }
    e.preventDefault();
    const next = tabs[(to + tabs.length) % tabs.length]!;
    onSelect(next);
    e.currentTarget.ownerDocument.getElementById(tabId(next))?.focus();
  };

  return {
    list: { role: 'tablist' },
    tab: (key) => ({
      id: tabId(key),
      role: 'tab',
      'aria-selected': key === selected,
      'aria-controls': panelId(key),
      tabIndex: key === selected ? 0 : -1,
      onClick: () => onSelect(key),
      onKeyDown: (e) => move(key, e),
    }),
    panel: { id: panelId(selected), role: 'tabpanel', 'aria-labelledby': tabId(selected), tabIndex: 0 },
  };
}
