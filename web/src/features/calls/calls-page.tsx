import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Download, Search } from 'lucide-react';
import { Badge, Button, buttonClass, Card, ErrorMessage, Field, FieldProblem, inputClass, Ltr, PageTitle, urgencyTone, useFieldProblems } from '@/components/ui/ui';
import { EndedReason } from '@/components/ui/ended-reason';
import { useFormat, useTenantId } from '@/lib/session';
import { hasFilters } from '@/lib/filters';
import { formatDateTime, formatDuration, formatPhone } from '@/lib/format/format';
import { exportHref, useCalls } from './api';
import { ChannelLabel } from './channel';
import { cn } from '@/lib/cn';
import { MAX_SEARCH_LENGTH, toCallsQuery, type CallsSearch } from './search';

const STATUSES = ['in-progress', 'ringing', 'ended', 'completed', 'no-answer', 'busy', 'failed', 'canceled'];

/** The conversations log: newest first, filters and search in the URL, CSV export of the filtered set. */
export function CallsPage() {
  const { t } = useTranslation();
  const search = useSearch({ from: '/_app/calls/' });
  const navigate = useNavigate({ from: '/calls/' });
  const tenantId = useTenantId();
  const { locale, timeZone } = useFormat();
  const query = toCallsQuery(search, timeZone);
  const calls = useCalls(tenantId, query);
  const [q, setQ] = useState(search.q ?? '');
  const [tooLong, setTooLong] = useState(false);
  useEffect(() => setQ(search.q ?? ''), [search.q]);
  const problem = useFieldProblems(calls.error);
  const searchProblem = tooLong ? t('calls.searchTooLong', { max: MAX_SEARCH_LENGTH, length: q.trim().length }) : problem('q');

  const set = (patch: Partial<CallsSearch>) => void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    // The API takes at most 200 characters: say so rather than sending a search it refuses.
    const over = q.trim().length > MAX_SEARCH_LENGTH;
    setTooLong(over);
    if (!over) set({ q: q.trim() || undefined });
  };
  const items = calls.data?.pages.flatMap((p) => p.items) ?? [];
  const select = (name: keyof CallsSearch, label: string, options: readonly string[], render: (v: string) => string) => (
    <Field label={label}>
      <select className={inputClass} value={String(search[name] ?? '')} onChange={(e) => set({ [name]: e.target.value || undefined })}>
        <option value="">{t('filters.any')}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {render(o)}
          </option>
        ))}
      </select>
    </Field>
  );

  return (
    <>
      <PageTitle
        actions={
          <a className={buttonClass('secondary')} href={exportHref(query)} download>
            <Download aria-hidden className="size-4" />
            {t('calls.export')}
          </a>
        }
      >
        {t('calls.title')}
      </PageTitle>
      <Card className="mb-4">
        {/* What is searched is a visible label, like the filters' below, not a placeholder: at 375 px the French
            placeholder ("Chercher dans les transcriptions et résumés") was cut off inside the box. */}
        <form role="search" onSubmit={submit} className="mb-3 flex items-end gap-2">
          <Field label={t('calls.searchLabel')} className="flex-1">
            <input
              className={`${inputClass} w-full`}
              type="search"
              value={q}
              onChange={(e) => setQ(e.target.value)}
              aria-invalid={searchProblem ? true : undefined}
              aria-describedby={searchProblem ? 'calls-search-problem' : undefined}
            />
          </Field>
          <Button type="submit" variant="primary">
            <Search aria-hidden className="size-4" />
            {t('calls.search')}
          </Button>
        </form>
        <div className="-mt-2 mb-3">
          <FieldProblem id="calls-search-problem" message={searchProblem} />
        </div>
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5">
          {select('range', t('filters.range'), ['today', '7d', '30d', '90d', 'all'], (v) => t(`filters.ranges.${v}`))}
          {select('status', t('filters.status'), STATUSES, (v) => t(`status.${v}`, { defaultValue: v }))}
          {select('urgency', t('filters.urgency'), ['emergency', 'soon', 'routine'], (v) => t(`urgency.${v}`))}
          {select('channel', t('filters.channel'), ['phone', 'web'], (v) => t(`webConversations.filterChannel.${v}`))}
          {select('direction', t('filters.direction'), ['inbound', 'outbound'], (v) => t(`direction.${v}`))}
          {select('duration', t('filters.duration'), ['lt1', '1to5', 'gt5'], (v) => t(`filters.durations.${v}`))}
          <Field label={t('filters.number')} error={problem('number')}>
            <input
              className={inputClass}
              inputMode="tel"
              dir="ltr"
              defaultValue={search.number ?? ''}
              onBlur={(e) => set({ number: e.target.value.trim() || undefined })}
              onKeyDown={(e) => {
                if (e.key === 'Enter') set({ number: e.currentTarget.value.trim() || undefined });
              }}
            />
          </Field>
          <Field label={t('filters.endedReason')}>
            <input
              className={inputClass}
              dir="ltr"
              defaultValue={search.endedReason ?? ''}
              onBlur={(e) => set({ endedReason: e.target.value.trim() || undefined })}
              onKeyDown={(e) => {
                if (e.key === 'Enter') set({ endedReason: e.currentTarget.value.trim() || undefined });
              }}
            />
          </Field>
          <label className="flex items-center gap-2 self-end pb-2 text-sm">
            <input type="checkbox" checked={search.hasRecording ?? false} onChange={(e) => set({ hasRecording: e.target.checked || undefined })} />
            {t('filters.hasRecording')}
          </label>
        </div>
      </Card>
      <ErrorMessage error={calls.error} shownFields={['number', 'q']} />
      <Card className="p-0">
        <table className="w-full table-fixed text-sm">
          <caption className="sr-only">{t('calls.title')}</caption>
          <thead className="border-b border-slate-200 text-start text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
            <tr>
              <th scope="col" className="w-[48%] p-2 text-start sm:w-[20%]">{t('calls.columns.time')}</th>
              <th scope="col" className="p-2 text-start">{t('calls.columns.caller')}</th>
              <th scope="col" className="hidden w-20 p-2 text-start sm:table-cell">{t('calls.columns.duration')}</th>
              <th scope="col" className="hidden p-2 text-start sm:table-cell">{t('calls.columns.status')}</th>
              <th scope="col" className="hidden w-24 p-2 text-start sm:table-cell">{t('calls.columns.urgency')}</th>
              <th scope="col" className="hidden w-[30%] p-2 text-start lg:table-cell">{t('calls.columns.summary')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id} className="border-b border-slate-100 align-top last:border-0 hover:bg-slate-50 dark:border-slate-800 dark:hover:bg-slate-800/50">
                <td className="p-2">
                  <Link to="/calls/$callId" params={{ callId: c.id }} className="font-medium text-brand-700 underline-offset-2 hover:underline dark:text-brand-100">
                    {formatDateTime(c.startedAt ?? c.createdAt, locale, timeZone)}
                  </Link>
                  {c.urgency ? (
                    <span className="mt-1 block sm:hidden">
                      <Badge tone={urgencyTone(c.urgency)}>{t(`urgency.${c.urgency}`, { defaultValue: c.urgency })}</Badge>
                    </span>
                  ) : null}
                </td>
                <td className="p-2 whitespace-nowrap">
                  {c.customerNumber ? (
                    <div className="sm:truncate" data-testid="call-caller">
                      <Ltr>{formatPhone(c.customerNumber)}</Ltr>
                    </div>
                  ) : null}
                  <ChannelLabel
                    channel={c.channel}
                    type={c.type}
                    className={cn('flex text-slate-600 dark:text-slate-400', c.customerNumber && 'mt-0.5 text-xs')}
                  />
                </td>
                <td className="hidden p-2 tabular-nums sm:table-cell">
                  <Ltr>{formatDuration(c.durationSeconds)}</Ltr>
                </td>
                <td className="hidden truncate p-2 sm:table-cell">
                  {t(`status.${c.status}`, { defaultValue: c.status })}
                  {c.endedReason ? <EndedReason reason={c.endedReason} className="block truncate text-xs text-slate-500 dark:text-slate-400" /> : null}
                </td>
                <td className="hidden p-2 sm:table-cell">{c.urgency ? <Badge tone={urgencyTone(c.urgency)}>{t(`urgency.${c.urgency}`, { defaultValue: c.urgency })}</Badge> : null}</td>
                <td className="hidden p-2 lg:table-cell">
                  <p dir="auto" className="line-clamp-2">
                    {c.summary}
                  </p>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!calls.isPending && !calls.error && items.length === 0 ? <p className="p-4 text-sm text-slate-600 dark:text-slate-400">{t(hasFilters(search) ? 'calls.empty' : 'calls.none')}</p> : null}
        {calls.isPending ? <p className="p-4 text-sm text-slate-600 dark:text-slate-400">{t('common.loading')}</p> : null}
      </Card>
      {calls.hasNextPage ? (
        <div className="mt-3 flex justify-center">
          <Button onClick={() => void calls.fetchNextPage()} disabled={calls.isFetchingNextPage}>
            {t('common.loadMore')}
          </Button>
        </div>
      ) : null}
    </>
  );
}
