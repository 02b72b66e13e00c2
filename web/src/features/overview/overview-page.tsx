import { Link } from '@tanstack/react-router';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Badge, Card, ErrorMessage, Ltr, PageTitle, urgencyTone } from '@/components/ui/ui';
import { api, data } from '@/lib/api/client';
import { fetchCalls } from '@/features/calls/api';
import { useAnalytics } from '@/lib/api/analytics';
import { keys } from '@/lib/query-keys';
import { useFormat, useTenantId } from '@/lib/session';
import { formatDateTime, formatDuration, formatNumber, formatPhone} from '@/lib/format/format';
import { fetchLiveCalls, liveCallsKey } from '@/lib/live/live-calls';
import { liveCounts } from '@/lib/live/events';


function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <Card className="p-3">
      <p className="text-xs text-slate-600 dark:text-slate-400">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums">
        <bdi dir="ltr">{value || '—'}</bdi>
      </p>
    </Card>
  );
}

/** Today at a glance: KPIs, calls in progress, recent calls and new urgent leads. */
export function OverviewPage() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const { locale, timeZone, zoneSettled } = useFormat();
  const today = useAnalytics(tenantId, timeZone, 0, zoneSettled);
  const recent = useQuery({
    queryKey: [...keys.calls(tenantId), 'recent'],
    queryFn: ({ signal }) => fetchCalls({ pageSize: 8 }, signal),
  });
  const leads = useQuery({
    queryKey: [...keys.leads(tenantId), 'urgent-new'],
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/leads', { params: { query: { status: 'new', urgency: 'emergency', pageSize: 5 } }, signal })),
  });
  const live = useQuery({ queryKey: liveCallsKey(tenantId), queryFn: ({ signal }) => fetchLiveCalls(signal) });
  const totals = today.data?.totals;
  const liveTotals = live.isSuccess ? liveCounts(live.data.items, live.data.total - live.data.items.length) : undefined;
  return (
    <>
      <PageTitle>{t('overview.title')}</PageTitle>
      <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
        <Kpi label={t('overview.callsToday')} value={formatNumber(totals?.calls, locale)} />
        <Kpi label={t('analytics.answered')} value={formatNumber(totals?.answered, locale)} />
        <Kpi label={t('analytics.missed')} value={formatNumber(totals?.missed, locale)} />
        <Kpi label={t('analytics.leads')} value={formatNumber(totals?.leads, locale)} />
        <Kpi label={t('analytics.avgDuration')} value={formatDuration(totals?.averageDurationSeconds)} />
        <Kpi label={t('analytics.smsSent')} value={formatNumber(totals?.smsSent, locale)} />
      </div>
      <ErrorMessage error={today.error} />
      <Card className="mb-4 flex flex-wrap items-center justify-between gap-2">
        {/* The host counts every call in progress: while that loads, or when it could not be loaded, the count is unknown. */}
        {/* A web chat in the widget is no call: counted apart ("1 call in progress · 1 web chat in progress"). */}
        <p className="font-medium">
          {liveTotals ? t('live.active', { count: liveTotals.calls }) : t('live.title')}
          {liveTotals && liveTotals.chats > 0 ? <>{' '}<span className="font-normal">· {t('live.chats', { count: liveTotals.chats })}</span></> : null}
        </p>
        <Link to="/live" className="text-sm text-brand-700 hover:underline dark:text-brand-100">
          {t('overview.openLive')}
        </Link>
      </Card>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card>
          <h2 className="mb-2 font-semibold">{t('overview.recentCalls')}</h2>
          <ErrorMessage error={recent.error} />
          <ul className="flex flex-col divide-y divide-slate-100 dark:divide-slate-800">
            {(recent.data?.items ?? []).map((c) => (
              <li key={c.id} className="flex flex-wrap items-center gap-2 py-2 text-sm">
                <Link to="/calls/$callId" params={{ callId: c.id }} className="font-medium text-brand-700 hover:underline dark:text-brand-100">
                  {c.customerNumber ? <Ltr>{formatPhone(c.customerNumber)}</Ltr> : t(`channel.${c.channel}`, { defaultValue: c.channel })}
                </Link>
                {c.urgency ? <Badge tone={urgencyTone(c.urgency)}>{t(`urgency.${c.urgency}`, { defaultValue: c.urgency })}</Badge> : null}
                <span className="ms-auto text-xs text-slate-600 dark:text-slate-400">{formatDateTime(c.startedAt ?? c.createdAt, locale, timeZone)}</span>
              </li>
            ))}
          </ul>
          {recent.data && recent.data.items.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('calls.none')}</p> : null}
        </Card>
        <Card>
          <h2 className="mb-2 font-semibold">{t('overview.urgentLeads')}</h2>
          <ErrorMessage error={leads.error} />
          <ul className="flex flex-col divide-y divide-slate-100 dark:divide-slate-800">
            {(leads.data?.items ?? []).map((l) => (
              <li key={l.id} className="py-2 text-sm">
                {/* The name, then the number, as two fields: run together, a Latin name and a number read as one
                    left-to-right string on an Arabic page, the number first. */}
                <Link to="/leads" search={{ urgency: 'emergency' }} className="flex w-fit flex-wrap items-baseline gap-x-3 font-medium text-brand-700 hover:underline dark:text-brand-100">
                  {l.name ? <bdi data-testid="urgent-lead-name">{l.name}</bdi> : null}
                  {l.phone ? (
                    <span className="font-normal tabular-nums" data-testid="urgent-lead-phone">
                      <Ltr>{formatPhone(l.phone)}</Ltr>
                    </span>
                  ) : null}
                </Link>
                <p className="text-slate-600 dark:text-slate-400">
                  <bdi>{l.problem}</bdi>
                </p>
              </li>
            ))}
          </ul>
          {leads.data && leads.data.items.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('overview.noUrgentLeads')}</p> : null}
        </Card>
      </div>
    </>
  );
}
