import { useNavigate, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { ShieldX, ShieldCheck } from 'lucide-react';
import { Badge, Button, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle } from '@/components/ui/ui';
import { formatDateTime } from '@/lib/format/format';
import { DateField } from '@/components/ui/date-field';
import { useFormat, useTenantId } from '@/lib/session';
import { useAudit, useAuditVerify } from './api';
import { useMembers } from '@/features/leads/api';
import { toAuditQuery, type AuditSearch } from './audit-search';
import { ReturnToBanner } from './parts';
import { AdminOnly } from '@/components/layout/admin-only';
import { auditActionName } from '@/lib/event-name';

const ACTOR_TYPES = ['user', 'api_key', 'operator', 'system', 'anonymous'] as const;

/** An action code (`webhooks.endpoint_created`) that may wrap after its dots and underscores, not in the middle of a word. */
function Breakable({ text }: { text: string }) {
  const parts = text.split(/(?<=[._])/);
  return (
    <>
      {parts.map((part, i) => (
        <span key={i}>
          {part}
          {i < parts.length - 1 ? <wbr /> : null}
        </span>
      ))}
    </>
  );
}

/** Settings → Audit log: the tenant's hash-chained log, filtered by action, actor and days, paged, with the chain's verification. */
export function AuditPage() {
  const { t } = useTranslation();
  return (
    <AdminOnly title={t('admin.audit.title')}>
      <AuditPageBody />
    </AdminOnly>
  );
}

function AuditPageBody() {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const tenantId = useTenantId();
  const search = useSearch({ from: '/_app/settings/audit' });
  const navigate = useNavigate({ from: '/settings/audit' });
  const set = (patch: Partial<AuditSearch>) => void navigate({ search: (prev) => ({ ...prev, page: undefined, ...patch }), replace: true });
  const audit = useAudit(tenantId, toAuditQuery(search, timeZone));
  const verify = useAuditVerify(tenantId);
  const members = useMembers(tenantId);
  const who = (id: string | null) => (id ? (members.data ?? []).find((m) => m.userId === id) : undefined);
  const page = audit.data?.page ?? 1;
  const pages = audit.data ? Math.max(1, Math.ceil(audit.data.total / audit.data.pageSize)) : 1;
  const v = verify.data;
  return (
    <>
      <ReturnToBanner />
      <PageTitle>{t('admin.audit.title')}</PageTitle>
      <Card className="mb-4" aria-label={t('admin.audit.chain')}>
        <div className="flex flex-wrap items-center gap-3">
          {v ? (
            v.valid ? (
              <p role="status" className="flex items-center gap-2 text-emerald-800 dark:text-emerald-300">
                <ShieldCheck aria-hidden className="size-5" />
                {t('admin.audit.valid', { count: v.entries })}
              </p>
            ) : (
              <p role="alert" className="flex items-center gap-2 text-red-800 dark:text-red-300">
                <ShieldX aria-hidden className="size-5" />
                {t('admin.audit.invalid', { seq: v.firstInvalidSeq ?? '?', reason: t(`admin.audit.reason.${v.reason ?? 'unknown'}`, { defaultValue: v.reason ?? '' }) })}
              </p>
            )
          ) : verify.isPending ? (
            <p>{t('common.loading')}</p>
          ) : null}
          <Button className="ms-auto" disabled={verify.isFetching} onClick={() => void verify.refetch()}>
            {t('admin.audit.verify')}
          </Button>
        </div>
        {v?.headHash ? (
          <p className="mt-2 text-xs break-all text-slate-600 dark:text-slate-400">
            {t('admin.audit.head')} <Ltr>{v.headHash}</Ltr>
          </p>
        ) : null}
        <ErrorMessage error={verify.error} />
      </Card>
      <Card className="mb-4">
        <div className="grid grid-cols-2 gap-3 lg:grid-cols-6">
          <Field label={t('admin.audit.action')} className="lg:col-span-2">
            <input
              className={inputClass}
              type="search"
              dir="ltr"
              placeholder="keys."
              defaultValue={search.action ?? ''}
              onKeyDown={(e) => {
                if (e.key === 'Enter') set({ action: e.currentTarget.value.trim() || undefined });
              }}
              onBlur={(e) => {
                if ((e.currentTarget.value.trim() || undefined) !== search.action) set({ action: e.currentTarget.value.trim() || undefined });
              }}
            />
          </Field>
          <Field label={t('admin.audit.actor')} className="lg:col-span-2">
            <select className={inputClass} value={search.actorType ?? ''} onChange={(e) => set({ actorType: (e.target.value || undefined) as AuditSearch['actorType'] })}>
              <option value="">{t('filters.any')}</option>
              {ACTOR_TYPES.map((a) => (
                <option key={a} value={a}>
                  {t(`admin.audit.actorType.${a}`)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('admin.audit.member')} className="lg:col-span-2">
            <select className={inputClass} value={search.actorId ?? ''} onChange={(e) => set({ actorId: e.target.value || undefined })}>
              <option value="">{t('filters.any')}</option>
              {(members.data ?? []).map((m) => (
                <option key={m.userId} value={m.userId}>
                  {m.fullName ?? m.email}
                </option>
              ))}
            </select>
          </Field>
          {/* Day, month and year in the page's language: a native date input said "mm/dd/yyyy" on an Arabic page. */}
          <DateField className="col-span-2 lg:col-span-3" label={t('admin.audit.from')} locale={locale} value={search.from ?? ''} onChange={(from) => set({ from: from || undefined })} />
          <DateField className="col-span-2 lg:col-span-3" label={t('admin.audit.to')} locale={locale} value={search.to ?? ''} onChange={(to) => set({ to: to || undefined })} />
        </div>
      </Card>
      <ErrorMessage error={audit.error} />
      {audit.isPending ? <p>{t('common.loading')}</p> : null}
      {audit.data && audit.data.items.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.audit.empty')}</p> : null}
      {audit.data && audit.data.items.length > 0 ? (
        <div role="region" tabIndex={0} aria-label={t('admin.audit.title')} className="max-w-full overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
          <table className="w-full text-sm">
            <thead>
              <tr className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
                <th className="p-2 text-start whitespace-nowrap">#</th>
                <th className="hidden p-2 text-start md:table-cell">{t('admin.audit.at')}</th>
                <th className="p-2 text-start">{t('admin.audit.action')}</th>
                <th className="p-2 text-start">{t('admin.audit.actor')}</th>
                <th className="hidden p-2 text-start md:table-cell">{t('admin.audit.target')}</th>
                <th className="hidden p-2 text-start lg:table-cell">{t('admin.audit.details')}</th>
              </tr>
            </thead>
            <tbody>
              {audit.data.items.map((a) => (
                <tr key={a.seq} className="border-b border-slate-100 align-top dark:border-slate-800">
                  <td className="p-2 whitespace-nowrap tabular-nums">{a.seq}</td>
                  <td className="hidden p-2 whitespace-nowrap md:table-cell">{formatDateTime(a.at, locale, timeZone)}</td>
                  <td className="min-w-0 p-2">
                    {/* The action in words; its code (what the API's action filter takes) under it for a developer. */}
                    <span className="wrap-break-word">{auditActionName(t, a.action)}</span>
                    <code className="block text-xs wrap-break-word text-slate-600 dark:text-slate-400">
                      <Breakable text={a.action} />
                    </code>
                    {/* On a phone the time, target and details stack under the action instead of being cut off. */}
                    <div className="mt-1 text-xs whitespace-nowrap text-slate-600 md:hidden dark:text-slate-400">{formatDateTime(a.at, locale, timeZone)}</div>
                    {a.target ? (
                      <div className="mt-1 text-xs break-all text-slate-600 md:hidden dark:text-slate-400">
                        {t('admin.audit.target')}: <Ltr>{a.target}</Ltr>
                      </div>
                    ) : null}
                    {a.details ? (
                      <code className="mt-1 block text-xs break-all lg:hidden" dir="ltr">
                        {JSON.stringify(a.details)}
                      </code>
                    ) : null}
                  </td>
                  <td className="p-2">
                    <Badge>{t(`admin.audit.actorType.${a.actorType}`, { defaultValue: a.actorType })}</Badge>
                    {who(a.actorId) ? (
                      <span className="ms-1" dir="auto">
                        {who(a.actorId)?.fullName ?? who(a.actorId)?.email}
                      </span>
                    ) : null}
                    {/* On its own line, never broken: "127.0.0." over "1" read as another address on a phone. */}
                    {a.ip ? (
                      <span className="mt-1 block text-xs whitespace-nowrap text-slate-600 dark:text-slate-400">
                        <Ltr>{a.ip}</Ltr>
                      </span>
                    ) : null}
                  </td>
                  <td className="hidden p-2 text-xs break-all md:table-cell">
                    <Ltr>{a.target ?? ''}</Ltr>
                  </td>
                  <td className="hidden max-w-xs p-2 lg:table-cell">
                    {a.details ? (
                      <code className="block text-xs break-all" dir="ltr">
                        {JSON.stringify(a.details)}
                      </code>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {audit.data && pages > 1 ? (
        <nav className="mt-3 flex items-center justify-center gap-3" aria-label={t('admin.audit.pages')}>
          <Button disabled={page <= 1} onClick={() => set({ page: page - 1 })}>
            {t('admin.audit.previous')}
          </Button>
          <span className="text-sm">{t('admin.audit.pageOf', { page, pages })}</span>
          <Button disabled={page >= pages} onClick={() => set({ page: page + 1 })}>
            {t('admin.audit.next')}
          </Button>
        </nav>
      ) : null}
    </>
  );
}
