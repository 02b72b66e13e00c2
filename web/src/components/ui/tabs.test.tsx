// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { useState } from 'react';
import { useTabs } from './tabs';
import { click, press, render } from '@/testing/render';

const KEYS = ['html', 'wordpress', 'shopify', 'react'] as const;

function Strip() {
  const [selected, setSelected] = useState<(typeof KEYS)[number]>('html');
  const tabs = useTabs(KEYS, selected, setSelected);
  return (
    <>
      <div {...tabs.list} aria-label="Platform">
        {KEYS.map((k) => (
          <button key={k} type="button" {...tabs.tab(k)}>
            {k}
          </button>
        ))}
      </div>
      <pre {...tabs.panel}>{selected} snippet</pre>
    </>
  );
}

let unmount: (() => Promise<void>) | undefined;
afterEach(async () => {
  await unmount?.();
  unmount = undefined;
  document.documentElement.removeAttribute('dir');
});

async function strip(dir?: 'rtl' | 'ltr') {
  if (dir) document.documentElement.setAttribute('dir', dir);
  const r = await render(<Strip />);
  unmount = r.unmount;
  const tab = (name: string) => [...r.container.querySelectorAll<HTMLButtonElement>('[role=tab]')].find((b) => b.textContent === name)!;
  const panel = () => r.container.querySelector<HTMLElement>('[role=tabpanel]')!;
  const selected = () => [...r.container.querySelectorAll('[role=tab][aria-selected=true]')].map((b) => b.textContent);
  return { tab, panel, selected };
}

describe('useTabs (WAI-ARIA APG tabs)', () => {
  it('ties each tab to the panel and the panel to the selected tab, with only the selected tab in the Tab order', async () => {
    const { tab, panel, selected } = await strip();
    expect(selected()).toEqual(['html']);
    expect(panel().id).toBe(tab('html').getAttribute('aria-controls'));
    expect(panel().getAttribute('aria-labelledby')).toBe(tab('html').id);
    expect(panel().tabIndex).toBe(0);
    expect(KEYS.map((k) => tab(k).tabIndex)).toEqual([0, -1, -1, -1]);
    expect(new Set(KEYS.map((k) => tab(k).id)).size).toBe(KEYS.length);

    await click(tab('shopify'));
    expect(selected()).toEqual(['shopify']);
    expect(KEYS.map((k) => tab(k).tabIndex)).toEqual([-1, -1, 0, -1]);
    expect(panel().id).toBe(tab('shopify').getAttribute('aria-controls'));
    expect(panel().getAttribute('aria-labelledby')).toBe(tab('shopify').id);
    expect(panel().textContent).toBe('shopify snippet');
  });

  it('moves the focus and the selection with the arrows, wrapping at both ends, and Home/End go to the first/last', async () => {
    const { tab, panel, selected } = await strip('ltr');
    tab('html').focus();
    await press(tab('html'), 'ArrowRight');
    expect(document.activeElement).toBe(tab('wordpress'));
    expect(selected()).toEqual(['wordpress']);
    expect(panel().textContent).toBe('wordpress snippet');
    expect(tab('wordpress').tabIndex).toBe(0);

    await press(tab('wordpress'), 'End');
    expect(document.activeElement).toBe(tab('react'));
    expect(selected()).toEqual(['react']);
    await press(tab('react'), 'ArrowRight');
    expect(document.activeElement).toBe(tab('html'));
    expect(selected()).toEqual(['html']);
    await press(tab('html'), 'ArrowLeft');
    expect(document.activeElement).toBe(tab('react'));
    expect(selected()).toEqual(['react']);
    await press(tab('react'), 'Home');
    expect(document.activeElement).toBe(tab('html'));
    expect(selected()).toEqual(['html']);
    expect(panel().getAttribute('aria-labelledby')).toBe(tab('html').id);
  });

  it('swaps the arrows right to left: ArrowLeft goes to the next tab, ArrowRight to the previous', async () => {
    const { tab, selected } = await strip('rtl');
    tab('html').focus();
    await press(tab('html'), 'ArrowLeft');
    expect(document.activeElement).toBe(tab('wordpress'));
    expect(selected()).toEqual(['wordpress']);
    await press(tab('wordpress'), 'ArrowRight');
    await press(tab('html'), 'ArrowRight');
    expect(document.activeElement).toBe(tab('react'));
    expect(selected()).toEqual(['react']);
  });

  it('leaves other keys alone', async () => {
    const { tab, selected } = await strip();
    tab('html').focus();
    const e = new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true, cancelable: true });
    tab('html').dispatchEvent(e);
    expect(e.defaultPrevented).toBe(false);
    expect(selected()).toEqual(['html']);
    expect(document.activeElement).toBe(tab('html'));
  });
});
