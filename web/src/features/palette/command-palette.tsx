import { useEffect, useId, useMemo, useState, type KeyboardEvent } from 'react';
import { useNavigate } from '@tanstack/react-router';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Dialog } from 'radix-ui';
import { Phone, Search } from 'lucide-react';
import { Ltr } from '@/components/ui/ui';
import { cn } from '@/lib/cn';
import { formatDateTime, formatPhone } from '@/lib/format/format';
import { keys } from '@/lib/query-keys';
import { useFormat, useTenantId } from '@/lib/session';
import { fetchCalls } from '@/features/calls/api';
import { isPaletteShortcut, matchPages, moveActive, paletteSearch, type PalettePage } from './palette';

interface Option {
  id: string;
  group: 'pages' | 'calls';
  content: React.ReactNode;
  run: () => void;
}

/** Waits until the text has been still for `ms` before searching (one request per pause, not per key). */
function useSettled(value: string, ms: number): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return settled;
}

/**
 * The command palette of the shell: Ctrl-K / Cmd-K (or the header button) opens a combobox that jumps to a page or
 * finds calls by a number fragment (3+ digits) or by words (a caller's name, anything said), through the typed client.
 */
export function CommandPalette({ pages }: { pages: readonly PalettePage[] }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (isPaletteShortcut(e)) {
        e.preventDefault();
        setOpen((o) => !o);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <Dialog.Root open={open} onOpenChange={setOpen}>
      <Dialog.Trigger asChild>
        <button
          type="button"
          data-testid="palette-open"
          className="flex items-center gap-2 rounded-md border border-slate-200 px-2 py-1.5 text-sm text-slate-600 hover:bg-slate-100 dark:border-slate-700 dark:text-slate-300 dark:hover:bg-slate-800"
        >
          <Search aria-hidden className="size-4" />
          <span className="hidden sm:inline">{t('palette.open')}</span>
          <span className="sr-only sm:hidden">{t('palette.open')}</span>
          <kbd dir="ltr" className="hidden rounded border border-slate-300 px-1 text-xs lg:inline dark:border-slate-600">
            Ctrl K
          </kbd>
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content
          aria-describedby={undefined}
          className="fixed inset-x-2 top-[10vh] z-50 mx-auto max-w-xl rounded-lg border border-slate-200 bg-white shadow-xl dark:border-slate-700 dark:bg-slate-900"
        >
          <Dialog.Title className="sr-only">{t('palette.title')}</Dialog.Title>
          {open ? <PaletteBody pages={pages} close={() => setOpen(false)} /> : null}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function PaletteBody({ pages, close }: { pages: readonly PalettePage[]; close: () => void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const tenantId = useTenantId();
  const { locale, timeZone } = useFormat();
  const listId = useId();
  const [text, setText] = useState('');
  const [active, setActive] = useState(0);
  const settled = useSettled(text, 200);
  const search = paletteSearch(settled);
  const calls = useQuery({
    queryKey: [...keys.calls(tenantId), 'palette', search],
    enabled: search !== null,
    queryFn: ({ signal }) =>
      fetchCalls(search!.kind === 'number' ? { number: search!.number, pageSize: 6 } : { q: search!.q, pageSize: 6 }, signal),
    staleTime: 10_000,
  });

  const options = useMemo<Option[]>(() => {
    const go = (run: () => void) => () => {
      close();
      run();
    };
    const list: Option[] = matchPages(pages, text).map((p) => ({
      id: `page-${p.to}`,
      group: 'pages',
      content: p.label,
      run: go(() => void navigate({ to: p.to })),
    }));
    if (search && paletteSearch(text) !== null) {
      for (const c of calls.data?.items ?? []) {
        list.push({
          id: `call-${c.id}`,
          group: 'calls',
          content: (
            <span className="flex min-w-0 items-center gap-2">
              <Phone aria-hidden className="size-4 shrink-0" />
              <span className="shrink-0 whitespace-nowrap">{c.customerNumber ? <Ltr>{formatPhone(c.customerNumber)}</Ltr> : t(`channel.${c.channel}`, { defaultValue: c.channel })}</span>
              <span className="shrink-0 text-xs text-slate-500 dark:text-slate-400">{formatDateTime(c.startedAt ?? c.createdAt, locale, timeZone)}</span>
              <span dir="auto" className="min-w-0 truncate text-xs text-slate-500 dark:text-slate-400">
                {c.summary}
              </span>
            </span>
          ),
          run: go(() => void navigate({ to: '/calls/$callId', params: { callId: c.id } })),
        });
      }
      list.push({
        id: 'calls-all',
        group: 'calls',
        content: t('palette.allResults', { text: settled.trim() }),
        run: go(() => void navigate({ to: '/calls', search: search.kind === 'number' ? { number: search.number } : { q: search.q } })),
      });
    }
    return list;
  }, [pages, text, search, calls.data, settled, close, navigate, t, locale, timeZone]);

  const current = Math.min(active, options.length - 1);
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) {
      e.preventDefault();
      setActive(moveActive(current, options.length, e.key));
    } else if (e.key === 'Enter' && current >= 0) {
      e.preventDefault();
      options[current]?.run();
    }
  };
  const optionId = (o: Option) => `${listId}-${o.id}`;
  const groups = (['pages', 'calls'] as const).filter((g) => options.some((o) => o.group === g));

  return (
    <div>
      <div className="flex items-center gap-2 border-b border-slate-200 px-3 dark:border-slate-700">
        <Search aria-hidden className="size-4 shrink-0 text-slate-500" />
        <input
          autoFocus
          role="combobox"
          aria-expanded="true"
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={current >= 0 && options[current] ? optionId(options[current]) : undefined}
          aria-label={t('palette.placeholder')}
          placeholder={t('palette.placeholder')}
          dir="auto"
          className="w-full bg-transparent py-3 text-sm outline-none"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
        />
      </div>
      <ul id={listId} role="listbox" aria-label={t('palette.title')} className="max-h-[60vh] overflow-y-auto p-1">
        {groups.map((g) => (
          <li key={g} role="presentation">
            <p role="presentation" className="px-2 pt-2 pb-1 text-xs font-semibold text-slate-500 uppercase dark:text-slate-400">
              {t(`palette.${g}`)}
            </p>
            <ul role="group" aria-label={t(`palette.${g}`)}>
              {options.map((o, i) =>
                o.group === g ? (
                  <li
                    key={o.id}
                    id={optionId(o)}
                    role="option"
                    aria-selected={i === current}
                    data-testid="palette-option"
                    onMouseMove={() => setActive(i)}
                    onClick={o.run}
                    className={cn(
                      'cursor-pointer rounded-md px-2 py-2 text-sm',
                      i === current ? 'bg-brand-50 text-brand-700 dark:bg-slate-800 dark:text-white' : 'text-slate-700 dark:text-slate-200',
                    )}
                  >
                    {o.content}
                  </li>
                ) : null,
              )}
            </ul>
          </li>
        ))}
      </ul>
      <p className="border-t border-slate-200 px-3 py-2 text-xs text-slate-500 dark:border-slate-700 dark:text-slate-400" role="status">
        {search && calls.isFetching ? t('palette.searching') : search && calls.data && calls.data.items.length === 0 ? t('palette.noCalls') : t('palette.hint')}
      </p>
    </div>
  );
}
