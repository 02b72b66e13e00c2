import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Button, ErrorMessage, inputClass, PageTitle } from '@/components/ui/ui';
import { formatDateTime } from '@/lib/format/format';
import { useFormat } from '@/lib/session';
import { usePlans, useOperatorTenants, useUpdateTenant, type OperatorTenantDto, type Plan } from './api';
import { planName } from '@/lib/plan-name';

/** Operator console (operators only): every tenant of the installation, suspend/resume, plan override. */
export function OperatorPage() {
  const { t } = useTranslation();
  const tenants = useOperatorTenants();
  const plans = usePlans();
  const [q, setQ] = useState('');
  const rows = (tenants.data ?? []).filter((r) => !q || r.name.toLowerCase().includes(q.toLowerCase()) || r.id.startsWith(q.toLowerCase()));
  return (
    <>
      <PageTitle>{t('admin.operator.title')}</PageTitle>
      <p className="mb-4 max-w-prose text-sm text-slate-600 dark:text-slate-400">{t('admin.operator.intro')}</p>
      <label className="mb-4 flex max-w-sm flex-col gap-1 text-sm">
        <span className="font-medium">{t('admin.operator.search')}</span>
        <input className={inputClass} type="search" value={q} onChange={(e) => setQ(e.target.value)} dir="auto" />
      </label>
      <ErrorMessage error={tenants.error ?? plans.error} />
      {tenants.isPending ? <p>{t('common.loading')}</p> : null}
      {tenants.data ? <p className="mb-2 text-sm">{t('admin.operator.count', { count: rows.length })}</p> : null}
      <div role="region" tabIndex={0} aria-label={t('admin.operator.title')} className="max-w-full overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <table className="w-full text-sm">
          <thead>
            <tr className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
              <th className="p-2 text-start">{t('admin.operator.name')}</th>
              <th className="p-2 text-start">{t('admin.operator.status')}</th>
              <th className="p-2 text-start">{t('admin.operator.plan')}</th>
              <th className="hidden p-2 text-start sm:table-cell">{t('admin.operator.members')}</th>
              <th className="hidden p-2 text-start md:table-cell">{t('admin.operator.created')}</th>
              <th className="p-2 text-start">
                <span className="sr-only">{t('admin.webhooks.col.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <TenantRow key={r.id} row={r} plans={plans.data ?? []} />
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function TenantRow({ row, plans }: { row: OperatorTenantDto; plans: Plan[] }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const update = useUpdateTenant();
  const suspended = row.status === 'suspended';
  return (
    <tr className="border-b border-slate-100 align-top dark:border-slate-800" aria-label={row.name}>
      <td className="p-2">
        <span className="font-medium" dir="auto">
          {row.name}
        </span>
        <div className="text-xs break-all text-slate-600 dark:text-slate-400">
          <bdi dir="ltr">{row.id}</bdi>
        </div>
      </td>
      <td className="p-2">
        <Badge tone={suspended ? 'red' : 'green'}>{t(`admin.operator.statuses.${row.status}`, { defaultValue: row.status })}</Badge>
      </td>
      <td className="p-2">
        <select
          className={`${inputClass} max-w-32`}
          aria-label={t('admin.operator.planFor', { name: row.name })}
          value={row.planId}
          disabled={update.isPending}
          onChange={(e) => update.mutate({ id: row.id, body: { planId: e.target.value } })}
        >
          {(plans.length ? plans : [{ id: row.planId, name: row.planId } as Plan]).map((p) => (
            <option key={p.id} value={p.id}>
              {planName(t, p)}
            </option>
          ))}
        </select>
      </td>
      <td className="hidden p-2 sm:table-cell">{row.members}</td>
      <td className="hidden p-2 whitespace-nowrap md:table-cell">{formatDateTime(row.createdAt, locale, timeZone)}</td>
      <td className="p-2">
        <Button
          variant={suspended ? 'primary' : 'danger'}
          disabled={update.isPending}
          onClick={() => update.mutate({ id: row.id, body: { status: suspended ? 'active' : 'suspended' } })}
        >
          {suspended ? t('admin.operator.resume') : t('admin.operator.suspend')}
        </Button>
        <ErrorMessage error={update.error} />
      </td>
    </tr>
  );
}
