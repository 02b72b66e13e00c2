import { Fragment, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Button, ErrorMessage, Field, inputClass, Ltr, type Tone } from '@/components/ui/ui';
import { DateTimeField } from '@/components/ui/date-field';
import { formatDateTime, formatLatency, formatPickedDateTime, instantInZone, intlLocale } from '@/lib/format/format';
import { zoneLabel } from '@/lib/time-zones';
import { eventName } from '@/lib/event-name';
import { useFormat, useTenantId } from '@/lib/session';
import { useDelivery, useDeliveries, useDeliveryMutations, useEventTypes } from './api';

const tones: Record<string, Tone> = { succeeded: 'green', failed: 'red', pending: 'amber' };

/** An endpoint's delivery log, newest first: each delivery's status, attempts (status, latency, response excerpt), replay, replay failed since. */
export function DeliveryLog({ endpointId, canConfigure, onNotice }: { endpointId: string; canConfigure: boolean; onNotice: (s: string | null) => void }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const tenantId = useTenantId();
  const [status, setStatus] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const [testType, setTestType] = useState('');
  const [since, setSince] = useState('');
  const log = useDeliveries(tenantId, endpointId, status);
  const m = useDeliveryMutations(tenantId, endpointId);
  const types = useEventTypes();
  const items = log.data?.items ?? [];
  const picked = formatPickedDateTime(since, locale);
  const zone = zoneLabel(timeZone, intlLocale(locale));
  return (
    <section aria-label={t('admin.webhooks.log')} className="mt-4 border-t border-slate-200 pt-3 dark:border-slate-800">
      <h3 className="mb-2 font-semibold">{t('admin.webhooks.log')}</h3>
      <div className="mb-3 flex flex-wrap items-end gap-2">
        <Field label={t('filters.status')}>
          <select className={inputClass} value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">{t('filters.any')}</option>
            {['pending', 'succeeded', 'failed'].map((s) => (
              <option key={s} value={s}>
                {t(`admin.webhooks.status.${s}`)}
              </option>
            ))}
          </select>
        </Field>
        <Button onClick={() => void log.refetch()}>{t('admin.refresh')}</Button>
        {canConfigure ? (
          <>
            <Field label={t('admin.webhooks.testType')}>
              <select className={inputClass} value={testType} onChange={(e) => setTestType(e.target.value)}>
                <option value="">{eventName(t, 'webhook.test')}</option>
                {(types.data ?? []).map((ty) => (
                  <option key={ty.type} value={ty.type}>
                    {eventName(t, ty.type)}
                  </option>
                ))}
              </select>
            </Field>
            <Button variant="primary" disabled={m.test.isPending} onClick={() => m.test.mutate(testType || null, { onSuccess: () => onNotice(t('admin.webhooks.testQueued')) })}>
              {t('admin.webhooks.sendTest')}
            </Button>
          </>
        ) : null}
      </div>
      {canConfigure ? (
        <form
          className="mb-3 flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            // The picked time is the tenant's wall clock, as every time the dashboard shows (the log's "at" column above
            // included), not the browser's zone: a time read in the log and typed here means the same instant.
            const from = instantInZone(since, timeZone);
            if (!from) return;
            m.replayFailed.mutate(from, {
              onSuccess: (r) => onNotice(t('admin.webhooks.replayedFailed', { count: r.queued })),
            });
          }}
        >
          <DateTimeField
            label={t('admin.webhooks.failedSince')}
            locale={locale}
            value={since}
            onChange={setSince}
            hint={picked ? t('admin.webhooks.failedSinceHint', { when: picked, zone }) : t('admin.webhooks.failedSinceZone', { zone })}
          />
          <Button type="submit" disabled={m.replayFailed.isPending || !since}>
            {t('admin.webhooks.replayFailed')}
          </Button>
        </form>
      ) : null}
      <ErrorMessage error={log.error ?? m.test.error ?? m.replay.error ?? m.replayFailed.error} />
      {log.isPending ? <p>{t('common.loading')}</p> : null}
      {!log.isPending && items.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.webhooks.noDeliveries')}</p> : null}
      {items.length > 0 ? (
        <div role="region" tabIndex={0} aria-label={t('admin.webhooks.log')} className="overflow-x-auto">
          <table className="w-full text-start text-sm">
            <thead>
              <tr className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
                <th className="p-2 text-start">{t('admin.webhooks.col.event')}</th>
                <th className="p-2 text-start">{t('admin.webhooks.col.status')}</th>
                <th className="p-2 text-start">{t('admin.webhooks.col.attempts')}</th>
                <th className="p-2 text-start">{t('admin.webhooks.col.response')}</th>
                <th className="p-2 text-start">{t('admin.webhooks.col.at')}</th>
                <th className="p-2 text-start">
                  <span className="sr-only">{t('admin.webhooks.col.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <Fragment key={d.id}>
                  <tr className="border-b border-slate-100 dark:border-slate-800">
                    <td className="p-2">
                      <span>{eventName(t, d.eventType)}</span>
                      {d.test ? (
                        <span className="ms-1">
                          <Badge>{t('admin.webhooks.test')}</Badge>
                        </span>
                      ) : null}
                      <code className="block text-xs text-slate-600 dark:text-slate-400">{d.eventType}</code>
                    </td>
                    <td className="p-2">
                      <Badge tone={tones[d.status] ?? 'slate'}>{t(`admin.webhooks.status.${d.status}`, { defaultValue: d.status })}</Badge>
                    </td>
                    <td className="p-2">{d.attempts}</td>
                    <td className="p-2 whitespace-nowrap">
                      {d.lastStatusCode ?? (d.lastError ? '—' : '')} {d.lastLatencyMs !== null ? <Ltr>{formatLatency(d.lastLatencyMs, locale)}</Ltr> : null}
                    </td>
                    <td className="p-2 whitespace-nowrap">{formatDateTime(d.createdAt, locale, timeZone)}</td>
                    <td className="p-2 whitespace-nowrap">
                      <Button variant="ghost" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? null : d.id)}>
                        {open === d.id ? t('admin.webhooks.hideAttempts') : t('admin.webhooks.showAttempts')}
                      </Button>
                      {canConfigure && d.status !== 'pending' ? (
                        <Button disabled={m.replay.isPending} onClick={() => m.replay.mutate(d.id, { onSuccess: () => onNotice(t('admin.webhooks.replayQueued')) })}>
                          {t('admin.webhooks.replay')}
                        </Button>
                      ) : null}
                    </td>
                  </tr>
                  {open === d.id ? (
                    <tr>
                      <td colSpan={6} className="bg-slate-50 p-2 dark:bg-slate-950">
                        <Attempts endpointId={endpointId} deliveryId={d.id} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function Attempts({ endpointId, deliveryId }: { endpointId: string; deliveryId: string }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const tenantId = useTenantId();
  const detail = useDelivery(tenantId, endpointId, deliveryId);
  if (detail.error) return <ErrorMessage error={detail.error} />;
  if (!detail.data) return <p>{t('common.loading')}</p>;
  const { attempts, delivery } = detail.data;
  return (
    <div>
      <p className="mb-2 text-xs">
        {t('admin.webhooks.messageId')} <Ltr>{delivery.eventId}</Ltr>
      </p>
      {attempts.length === 0 ? <p className="text-sm">{t('admin.webhooks.noAttempts')}</p> : null}
      <ol className="grid gap-2" aria-label={t('admin.webhooks.attempts')}>
        {attempts.map((a) => (
          <li key={a.number} className="rounded border border-slate-200 p-2 text-sm dark:border-slate-800">
            <div className="flex flex-wrap items-center gap-2">
              <span className="font-medium">{t('admin.webhooks.attemptN', { n: a.number })}</span>
              <Badge tone={a.succeeded ? 'green' : 'red'}>{a.statusCode ?? t('admin.webhooks.noResponse')}</Badge>
              <Ltr>{formatLatency(a.latencyMs, locale)}</Ltr>
              <span className="text-xs text-slate-600 dark:text-slate-400">{formatDateTime(a.at, locale, timeZone)}</span>
            </div>
            {a.error ? <p className="mt-1 text-xs text-red-800 dark:text-red-300">{a.error}</p> : null}
            {a.responseExcerpt ? (
              <pre className="mt-1 max-h-32 overflow-auto text-xs whitespace-pre-wrap" dir="ltr">
                {a.responseExcerpt}
              </pre>
            ) : null}
          </li>
        ))}
      </ol>
    </div>
  );
}
