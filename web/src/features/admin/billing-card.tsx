import { useTranslation } from 'react-i18next';
import { Badge, Button, Card, ErrorMessage } from '@/components/ui/ui';
import { formatDateTime, formatNumber, intlLocale, type Locale } from '@/lib/format/format';
import { useFormat, useTenantId } from '@/lib/session';
import type { Plan } from './api';
import { useBilling, useCheckout, usePortal } from './billing-api';
import { planName } from '@/lib/plan-name';

/** An amount in the currency's minor unit (cents), through Intl. */
function money(minor: number | string | null | undefined, currency: string, locale: Locale): string {
  const v = Number(minor);
  if (minor === null || minor === undefined || !Number.isFinite(v)) return '';
  return new Intl.NumberFormat(intlLocale(locale), {
    style: 'currency',
    currency: currency.toUpperCase(),
    numberingSystem: 'latn',
  }).format(v / 100);
}

/**
 * Plan & usage → Billing (Stripe mode): subscription status and grace, credit left, usage this period, the upcoming
 * invoice and past invoices (links to Stripe's hosted pages), Upgrade (→ Stripe Checkout) and Manage (→ Customer Portal).
 * Renders nothing in self-hosted mode (no Stripe key): the plan form below stays as it was.
 */
export function BillingCard({ plans, currentPlanId, owner }: { plans: Plan[]; currentPlanId: string; owner: boolean }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const tenantId = useTenantId();
  const billing = useBilling(tenantId);
  const checkout = useCheckout();
  const portal = usePortal();
  const b = billing.data;
  if (billing.error) return <ErrorMessage error={billing.error} />;
  if (!b || b.mode !== 'stripe') return null;
  const subscribed = ['active', 'trialing', 'past_due', 'unpaid'].includes(b.subscriptionStatus ?? '');
  const n = (x: number | string) => formatNumber(x, locale);
  return (
    <Card className="lg:col-span-2" aria-label={t('billing.title')}>
      <h2 className="mb-2 font-semibold">{t('billing.title')}</h2>
      <p className="mb-3 flex flex-wrap items-center gap-2 text-sm">
        <span>{t('billing.status')}</span>
        <Badge tone={b.featuresSuspended ? 'red' : subscribed ? 'green' : 'slate'}>
          {b.featuresSuspended
            ? t('billing.state.suspended')
            : t(`billing.state.${b.subscriptionStatus ?? 'none'}`, {
                defaultValue: b.subscriptionStatus ?? '',
              })}
        </Badge>
        {b.graceEndsAt && !b.featuresSuspended ? (
          <span className="text-red-800 dark:text-red-300">
            {t('billing.grace', {
              at: formatDateTime(b.graceEndsAt, locale, timeZone),
            })}
          </span>
        ) : null}
      </p>
      <ErrorMessage error={b.stripeError ? new Error(t('billing.stripeError', { message: b.stripeError })) : null} />
      <dl className="mb-3 grid grid-cols-[1fr_auto] gap-x-4 gap-y-1 text-sm">
        <dt>{t('billing.creditLeft')}</dt>
        <dd className="text-end">{b.creditLeft === null || b.creditLeft === undefined ? '—' : money(b.creditLeft, b.currency, locale)}</dd>
        <dt>{t('billing.usage', { period: b.period })}</dt>
        <dd className="text-end">
          {t('billing.usageValue', {
            minutes: n(Math.ceil(Number(b.callSeconds) / 60)),
            messages: n(b.chatMessages),
          })}
        </dd>
        <dt>{t('billing.upcoming')}</dt>
        <dd className="text-end">{b.upcomingInvoice ? money(b.upcomingInvoice.amountDue, b.upcomingInvoice.currency, locale) : '—'}</dd>
      </dl>
      {b.upcomingInvoice && b.upcomingInvoice.lines.length > 0 ? (
        <ul className="mb-3 text-sm text-slate-600 dark:text-slate-400">
          {b.upcomingInvoice.lines.map((l, i) => (
            <li key={i} className="flex justify-between gap-4">
              <span>{l.description}</span>
              <span>{money(l.amount, b.upcomingInvoice?.currency ?? b.currency, locale)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <h3 className="mb-1 text-sm font-medium">{t('billing.invoices')}</h3>
      {b.invoices.length === 0 ? (
        <p className="mb-3 text-sm">{t('billing.noInvoices')}</p>
      ) : (
        <ul className="mb-3 text-sm">
          {b.invoices.map((i) => (
            <li key={i.id} className="flex flex-wrap justify-between gap-2">
              <span>
                {formatDateTime(i.created, locale, timeZone)} · {money(i.amountDue, i.currency, locale)} ·{' '}
                {t(`billing.invoice.${i.status ?? 'draft'}`, {
                  defaultValue: i.status ?? '',
                })}
              </span>
              {i.hostedInvoiceUrl ? (
                <a className="text-blue-700 underline dark:text-blue-300" href={i.hostedInvoiceUrl} target="_blank" rel="noreferrer">
                  {t('billing.viewInvoice', { number: i.number ?? i.id })}
                </a>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {owner ? (
        <div className="flex flex-wrap gap-2">
          {subscribed
            ? null
            : plans
                .filter((p) => p.monthlyPriceUsd > 0 && p.id !== currentPlanId)
                .map((p) => (
                  <Button key={p.id} variant="primary" disabled={checkout.isPending} onClick={() => checkout.mutate(p.id)}>
                    {t('billing.upgrade', { name: planName(t, p) })}
                  </Button>
                ))}
          {b.hasCustomer ? (
            <Button disabled={portal.isPending} onClick={() => portal.mutate()}>
              {t('billing.manage')}
            </Button>
          ) : null}
        </div>
      ) : (
        <p className="text-sm">{t('billing.ownerOnly')}</p>
      )}
      <ErrorMessage error={checkout.error ?? portal.error} />
    </Card>
  );
}
