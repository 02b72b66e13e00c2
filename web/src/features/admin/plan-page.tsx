import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Button, Card, ErrorMessage, Field, inputClass, PageTitle } from '@/components/ui/ui';
import { formatDateTime, formatMonth, formatNumber, formatPrice } from '@/lib/format/format';
import { useFormat, useTenantId } from '@/lib/session';
import { useChangePlan, usePermissions, usePlan, usePlans, useUsage } from './api';
import { useBilling } from './billing-api';
import { BillingCard } from './billing-card';
import { Meter, Notice, ReturnToBanner } from './parts';
import { planName } from '@/lib/plan-name';

/**
 * Settings → Plan & usage: the plan, its limits and features, this month's use as meters. With Stripe billing, the
 * billing card (subscription, credit, invoices, Upgrade through Checkout, Manage in the portal) replaces the plan form;
 * without it (self-hosted) the API lets the owner change plan immediately, and the page says so.
 */
export function PlanPage() {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const tenantId = useTenantId();
  const can = usePermissions();
  const plan = usePlan(tenantId);
  const usage = useUsage(tenantId);
  const plans = usePlans();
  const change = useChangePlan(tenantId);
  const [choice, setChoice] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const billing = useBilling(tenantId);
  const stripeMode = billing.data?.mode === 'stripe';
  const p = plan.data?.plan;
  const u = usage.data;
  const n = (x: number) => formatNumber(x, locale);
  // The cheapest plan on offer with API access, named on a plan without it.
  const apiPlan = (plans.data ?? []).filter((o) => o.features.includes('api_access')).sort((a, b) => Number(a.monthlyPriceUsd) - Number(b.monthlyPriceUsd))[0];
  return (
    <>
      <ReturnToBanner />
      <PageTitle>{t('admin.plan.title')}</PageTitle>
      <ErrorMessage error={plan.error ?? usage.error} />
      {plan.isPending ? <p>{t('common.loading')}</p> : null}
      {p ? (
        <div className="grid gap-4 lg:grid-cols-2">
          <Card aria-label={t('admin.plan.current')}>
            <h2 className="mb-1 text-sm font-medium text-slate-600 dark:text-slate-400">{t('admin.plan.current')}</h2>
            <p className="mb-1 text-2xl font-semibold">{planName(t, p)}</p>
            <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
              {t('admin.plan.price', { price: formatPrice(p.monthlyPriceUsd, locale) })}
              {plan.data?.changedAt ? ` · ${t('admin.plan.changedAt', { at: formatDateTime(plan.data.changedAt, locale, timeZone) })}` : ''}
            </p>
            <dl className="grid grid-cols-[1fr_auto] gap-x-4 gap-y-1 text-sm">
              <dt>{t('admin.plan.includedMinutes')}</dt>
              <dd className="text-end">{n(p.includedMinutes)}</dd>
              <dt>{t('admin.plan.concurrentCalls')}</dt>
              <dd className="text-end">{n(p.concurrentCalls)}</dd>
              {p.features.includes('api_access') ? (
                <>
                  <dt>{t('admin.plan.requestsPerMinute')}</dt>
                  <dd className="text-end">{n(p.requestsPerMinute)}</dd>
                  <dt>{t('admin.plan.requestsPerMinutePerKey')}</dt>
                  <dd className="text-end">{n(p.requestsPerMinutePerKey)}</dd>
                </>
              ) : (
                // Without API access no secret key can call the API (ApiGuard refuses it), so its request limits apply to
                // nothing: say so, and which plan gives it, instead of numbers that read as an allowance.
                <>
                  <dt>{t('admin.plan.feature.api_access')}</dt>
                  <dd className="text-end">{t('admin.plan.noApiAccess')}</dd>
                </>
              )}
            </dl>
            {!p.features.includes('api_access') && apiPlan ? (
              <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
                {t('admin.plan.apiAccessFrom', { plan: planName(t, apiPlan), price: t('admin.plan.price', { price: formatPrice(apiPlan.monthlyPriceUsd, locale) }) })}
              </p>
            ) : null}
            <h3 className="mt-3 mb-1 text-sm font-medium">{t('admin.plan.features')}</h3>
            <ul className="flex flex-wrap gap-1">
              {['telephony', 'widget', 'widget_voice', 'webhooks', 'recording', 'custom_branding', 'api_access'].map((f) => (
                <li key={f}>
                  <Badge tone={p.features.includes(f) ? 'green' : 'slate'}>
                    {p.features.includes(f) ? '✓ ' : '✗ '}
                    {t(`admin.plan.feature.${f}`)}
                  </Badge>
                </li>
              ))}
            </ul>
            <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">{t('admin.plan.vapiCalls')}</p>
          </Card>
          <Card aria-label={t('admin.plan.usage')}>
            <h2 className="mb-3 font-semibold">{u ? t('admin.plan.usageIn', { period: formatMonth(u.period, locale) }) : t('admin.plan.usage')}</h2>
            {u ? (
              <div className="grid gap-4">
                <Meter
                  label={t('admin.plan.minutes')}
                  value={u.callMinutes}
                  max={u.includedMinutes}
                  text={t('admin.plan.ofIncluded', { used: n(u.callMinutes), limit: n(u.includedMinutes) })}
                />
                {u.overageMinutes > 0 ? <p className="text-sm text-red-800 dark:text-red-300">{t('admin.plan.overage', { count: u.overageMinutes })}</p> : null}
                <Meter
                  label={t('admin.plan.activeCalls')}
                  value={u.activeCalls}
                  max={u.concurrentCallLimit}
                  text={t('admin.plan.ofIncluded', { used: n(u.activeCalls), limit: n(u.concurrentCallLimit) })}
                />
                <Meter label={t('admin.plan.chatMessages')} value={u.chatMessages} max={0} text={n(u.chatMessages)} />
              </div>
            ) : usage.isPending ? (
              <p>{t('common.loading')}</p>
            ) : null}
          </Card>
          <BillingCard plans={plans.data ?? []} currentPlanId={p.id} owner={can.owner} />
          {stripeMode ? null : (
            <Card className="lg:col-span-2" aria-label={t('admin.plan.change')}>
            <h2 className="mb-1 font-semibold">{t('admin.plan.change')}</h2>
            <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">{t('admin.plan.noBilling')}</p>
            {can.owner ? (
              <form
                className="flex flex-wrap items-end gap-2"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (choice) change.mutate(choice, { onSuccess: (r) => setSaved(t('admin.plan.changed', { name: planName(t, r.plan) })) });
                }}
              >
                <Field label={t('admin.plan.choose')}>
                  <select className={inputClass} value={choice || p.id} onChange={(e) => setChoice(e.target.value)}>
                    {(plans.data ?? [p]).map((o) => (
                      <option key={o.id} value={o.id}>
                        {planName(t, o)} — {t('admin.plan.price', { price: formatPrice(o.monthlyPriceUsd, locale) })}
                      </option>
                    ))}
                  </select>
                </Field>
                <Button type="submit" variant="primary" disabled={change.isPending || !choice || choice === p.id}>
                  {t('admin.plan.apply')}
                </Button>
              </form>
            ) : (
              <p className="text-sm">{t('admin.plan.ownerOnly')}</p>
            )}
            <ErrorMessage error={change.error ?? plans.error} />
            <Notice>{saved}</Notice>
            </Card>
          )}
        </div>
      ) : null}
    </>
  );
}
