import { useNavigate, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis, Pie, PieChart, Cell } from 'recharts';
import { pieSlices, sliceStroke } from './slices';
import { Card, ErrorMessage, Field, inputClass, PageTitle } from '@/components/ui/ui';
import { useAnalytics } from '@/lib/api/analytics';
import { groupEndedReasons } from '@/lib/ended-reason';
import { useFormat, useTenantId } from '@/lib/session';
import { formatCost, formatDay, formatDuration, formatLatency, formatNumber} from '@/lib/format/format';

const DAYS = { '7d': 6, '30d': 29, '90d': 89 } as const;

function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <Card className="p-3">
      <p className="text-xs text-slate-600 dark:text-slate-400">{label}</p>
      <p className="mt-1 text-xl font-semibold tabular-nums">
        <bdi dir="ltr">{value || '—'}</bdi>
      </p>
    </Card>
  );
}

/**
 * A chart legend's label in the body text colour: recharts colours it like its series, and the series colours (amber on
 * white, blue or red on the dark card) are below the 4.5:1 contrast text needs. The swatch beside it keeps the colour.
 */
function legendLabel(value: string) {
  return <span className="text-slate-700 dark:text-slate-300">{value}</span>;
}

/** Calls per day, answered vs missed, urgency mix, leads and conversion, durations, latency, cost, SMS. */
export function AnalyticsPage() {
  const { t, i18n } = useTranslation();
  const search = useSearch({ from: '/_app/analytics' });
  const navigate = useNavigate({ from: '/analytics' });
  const tenantId = useTenantId();
  const { locale, timeZone, zoneSettled } = useFormat();
  const range = search.range ?? '30d';
  const analytics = useAnalytics(tenantId, timeZone, DAYS[range], zoneSettled);
  const a = analytics.data;
  const rtl = i18n.dir() === 'rtl';
  const days = (a?.days ?? []).map((d) => ({ ...d, label: formatDay(d.date, locale) }));
  const mix = a
    ? [
        { name: t('urgency.emergency'), value: a.urgencyMix.emergency, color: '#dc2626' },
        { name: t('urgency.soon'), value: a.urgencyMix.urgent, color: '#d97706' },
        { name: t('urgency.routine'), value: a.urgencyMix.routine, color: '#059669' },
      ]
    : [];
  const slices = pieSlices(mix);
  const conversion = a && a.totals.leads > 0 && a.totals.leadsBooked !== null ? (100 * a.totals.leadsBooked) / a.totals.leads : null;
  return (
    <>
      <PageTitle
        actions={
          <Field label={t('filters.range')}>
            <select className={inputClass} value={range} onChange={(e) => void navigate({ search: { range: e.target.value as keyof typeof DAYS }, replace: true })}>
              {Object.keys(DAYS).map((r) => (
                <option key={r} value={r}>
                  {t(`filters.ranges.${r}`)}
                </option>
              ))}
            </select>
          </Field>
        }
      >
        {t('analytics.title')}
      </PageTitle>
      <ErrorMessage error={analytics.error} />
      {analytics.isPending ? <p>{t('common.loading')}</p> : null}
      {a ? (
        <>
          <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-4">
            <Kpi label={t('analytics.calls')} value={formatNumber(a.totals.calls, locale)} />
            <Kpi label={t('analytics.answered')} value={formatNumber(a.totals.answered, locale)} />
            <Kpi label={t('analytics.missed')} value={formatNumber(a.totals.missed, locale)} />
            <Kpi label={t('analytics.afterHours')} value={a.totals.calls ? `${formatNumber((100 * a.totals.afterHours) / a.totals.calls, locale)} %` : ''} />
            <Kpi label={t('analytics.leads')} value={formatNumber(a.totals.leads, locale)} />
            <Kpi label={t('analytics.conversion')} value={conversion === null ? '' : `${formatNumber(conversion, locale)} %`} />
            <Kpi label={t('analytics.avgDuration')} value={formatDuration(a.totals.averageDurationSeconds)} />
            <Kpi label={t('analytics.p95Duration')} value={formatDuration(a.totals.p95DurationSeconds)} />
            <Kpi label={t('analytics.latencyP50')} value={formatLatency(a.totals.latencyP50Ms, locale)} />
            <Kpi label={t('analytics.latencyP95')} value={formatLatency(a.totals.latencyP95Ms, locale)} />
            <Kpi label={t('analytics.cost')} value={formatCost(a.totals.costTotal, locale)} />
            <Kpi label={t('analytics.smsSent')} value={formatNumber(a.totals.smsSent, locale)} />
          </div>
          <Card className="mb-4">
            <h2 className="mb-2 font-semibold">{t('analytics.perDay')}</h2>
            <div className="h-64" dir="ltr">
              <ResponsiveContainer width="100%" height="100%">
                <BarChart data={days} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#94a3b855" />
                  <XAxis dataKey="label" reversed={rtl} tick={{ fontSize: 11 }} />
                  <YAxis allowDecimals={false} orientation={rtl ? 'right' : 'left'} width={32} tick={{ fontSize: 11 }} />
                  <Tooltip />
                  <Legend formatter={legendLabel} />
                  <Bar dataKey="answered" name={t('analytics.answered')} stackId="a" fill="#2563eb" isAnimationActive={false} />
                  <Bar dataKey="missed" name={t('analytics.missed')} stackId="a" fill="#f59e0b" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </Card>
          <div className="grid gap-4 lg:grid-cols-2">
            <Card>
              <h2 className="mb-2 font-semibold">{t('analytics.urgencyMix')}</h2>
              {slices.length === 0 ? (
                <p className="text-sm text-slate-600 dark:text-slate-400">{t('analytics.noUrgency')}</p>
              ) : (
                <div className="h-56" dir="ltr">
                  <ResponsiveContainer width="100%" height="100%">
                    <PieChart>
                      <Pie data={slices} dataKey="value" nameKey="name" outerRadius={80} isAnimationActive={false} label stroke={sliceStroke(slices)}>
                        {slices.map((m) => (
                          <Cell key={m.name} fill={m.color} />
                        ))}
                      </Pie>
                      <Legend formatter={legendLabel} />
                      <Tooltip />
                    </PieChart>
                  </ResponsiveContainer>
                </div>
              )}
            </Card>
            <Card>
              <h2 className="mb-2 font-semibold">{t('analytics.endedReasons')}</h2>
              {a.endedReasons.length === 0 ? (
                <p className="text-sm text-slate-600 dark:text-slate-400">{t('analytics.noCalls')}</p>
              ) : (
                <table className="w-full text-sm">
                  <thead>
                    <tr className="text-xs text-slate-600 dark:text-slate-400">
                      <th scope="col" className="p-1 text-start">{t('call.endedReason')}</th>
                      <th scope="col" className="p-1 text-end">{t('analytics.calls')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {groupEndedReasons(a.endedReasons).map((r) => (
                      <tr key={r.reasons[0]} className="border-t border-slate-100 dark:border-slate-800">
                        <td className="p-1">
                          {r.label ? <span title={r.reasons.join(', ')}>{t(`endedReason.${r.label}`)}</span> : <bdi dir="ltr">{r.reasons[0]}</bdi>}
                        </td>
                        <td className="p-1 text-end tabular-nums">{formatNumber(r.count, locale)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Card>
          </div>
        </>
      ) : null}
    </>
  );
}
