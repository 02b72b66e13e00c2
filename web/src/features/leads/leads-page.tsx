import { useState } from 'react';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Phone } from 'lucide-react';
import { Badge, Button, buttonClass, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle, urgencyTone } from '@/components/ui/ui';
import { useFormat, useTenantId } from '@/lib/session';
import { hasFilters } from '@/lib/filters';
import { formatDateTime, formatPhone } from '@/lib/format/format';
import { LEAD_STATUSES, NEXT_STATUS, useLeads, useMembers, useUpdateLead, type LeadItem, type LeadStatus } from './api';

/** The leads inbox: status workflow, notes, assignee, tel: callback, filters in the URL. */
export function LeadsPage() {
  const { t } = useTranslation();
  const search = useSearch({ from: '/_app/leads' });
  const navigate = useNavigate({ from: '/leads' });
  const tenantId = useTenantId();
  const leads = useLeads(tenantId, search);
  const set = (patch: Partial<typeof search>) => void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true });
  const items = leads.data?.items ?? [];
  return (
    <>
      <PageTitle>{t('leads.title')}</PageTitle>
      <Card className="mb-4">
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-3">
          <Field label={t('filters.status')}>
            <select className={inputClass} value={search.status ?? ''} onChange={(e) => set({ status: (e.target.value || undefined) as typeof search.status })}>
              <option value="">{t('filters.any')}</option>
              {LEAD_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`leadStatus.${s}`)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('filters.urgency')}>
            <select className={inputClass} value={search.urgency ?? ''} onChange={(e) => set({ urgency: (e.target.value || undefined) as typeof search.urgency })}>
              <option value="">{t('filters.any')}</option>
              {['emergency', 'soon', 'routine'].map((u) => (
                <option key={u} value={u}>
                  {t(`urgency.${u}`)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('calls.search')} className="col-span-2 sm:col-span-1">
            <input
              className={inputClass}
              type="search"
              defaultValue={search.q ?? ''}
              onKeyDown={(e) => {
                if (e.key === 'Enter') set({ q: e.currentTarget.value.trim() || undefined });
              }}
            />
          </Field>
        </div>
      </Card>
      <ErrorMessage error={leads.error} />
      {leads.isPending ? <p>{t('common.loading')}</p> : null}
      {!leads.isPending && items.length === 0 && !leads.error ? <p className="text-sm text-slate-600 dark:text-slate-400">{t(hasFilters(search) ? 'leads.empty' : 'leads.none')}</p> : null}
      <ul className="grid gap-4 xl:grid-cols-2">
        {items.map((lead) => (
          <LeadCard key={lead.id} lead={lead} tenantId={tenantId} />
        ))}
      </ul>
    </>
  );
}

function LeadCard({ lead, tenantId }: { lead: LeadItem; tenantId: string }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const update = useUpdateLead(tenantId);
  const members = useMembers(tenantId);
  const [notes, setNotes] = useState(lead.notes ?? '');
  // The text last saved from this card: "Notes saved" shows while the box still holds it (typing again hides it).
  const [savedNotes, setSavedNotes] = useState<string | null>(null);
  const status = lead.status as LeadStatus;
  const next = NEXT_STATUS[status] ?? [];
  const title = lead.name ?? (lead.phone ? formatPhone(lead.phone) : t('leads.unnamed'));
  return (
    <li>
      <Card aria-label={title}>
        <div className="mb-2 flex flex-wrap items-center gap-2">
          <h2 className="min-w-0 font-semibold wrap-anywhere" dir="auto">
            {lead.name ?? (lead.phone ? <Ltr>{formatPhone(lead.phone)}</Ltr> : title)}
          </h2>
          <Badge tone={urgencyTone(lead.urgency)}>{t(`urgency.${lead.urgency}`, { defaultValue: lead.urgency })}</Badge>
          <Badge tone="blue">{t(`leadStatus.${lead.status}`, { defaultValue: lead.status })}</Badge>
          <span className="ms-auto text-xs text-slate-600 dark:text-slate-400">{formatDateTime(lead.createdAt, locale, timeZone)}</span>
        </div>
        {lead.problem ? (
          <p dir="auto" className="mb-1 text-sm">
            {lead.problem}
          </p>
        ) : null}
        {lead.address ? (
          <p dir="auto" className="mb-2 text-sm text-slate-600 dark:text-slate-400">
            {lead.address}
          </p>
        ) : null}
        <div className="mb-3 flex flex-wrap gap-2">
          {lead.phone ? (
            <a className={buttonClass('primary')} href={`tel:${lead.phone}`}>
              <Phone aria-hidden className="size-4" />
              {t('leads.callBack')} <Ltr>{formatPhone(lead.phone)}</Ltr>
            </a>
          ) : null}
          {lead.callId ? (
            <Link className={buttonClass('secondary')} to="/calls/$callId" params={{ callId: lead.callId }}>
              {t('leads.openCall')}
            </Link>
          ) : null}
        </div>
        <div className="mb-3 flex flex-wrap items-center gap-2" role="group" aria-label={t('leads.moveTo')}>
          {next.map((s) => (
            <Button key={s} disabled={update.isPending} onClick={() => update.mutate({ id: lead.id, patch: { status: s } })}>
              {t(`leads.mark.${s}`)}
            </Button>
          ))}
        </div>
        <div className="grid gap-2 sm:grid-cols-2">
          <Field label={t('leads.assignee')}>
            <select
              className={inputClass}
              value={lead.assigneeUserId ?? ''}
              onChange={(e) => update.mutate({ id: lead.id, patch: { assigneeUserId: e.target.value || null } })}
            >
              <option value="">{t('leads.unassigned')}</option>
              {(members.data ?? []).map((m) => (
                <option key={m.userId} value={m.userId}>
                  {m.fullName ?? m.email}
                </option>
              ))}
            </select>
          </Field>
          <form
            className="flex flex-col gap-1 sm:col-span-2"
            onSubmit={(e) => {
              e.preventDefault();
              const saving = notes;
              update.mutate({ id: lead.id, patch: { notes: saving } }, { onSuccess: () => setSavedNotes(saving) });
            }}
          >
            <Field label={t('leads.notes')}>
              <textarea className={inputClass} rows={2} maxLength={4000} dir="auto" value={notes} onChange={(e) => setNotes(e.target.value)} />
            </Field>
            <div className="flex flex-wrap items-center gap-3">
              <Button type="submit" disabled={update.isPending || notes === (lead.notes ?? '')}>
                {t('leads.saveNotes')}
              </Button>
              <span role="status" className="text-sm text-emerald-800 dark:text-emerald-300">
                {savedNotes !== null && savedNotes === notes && !update.isPending ? t('leads.notesSaved') : null}
              </span>
            </div>
          </form>
        </div>
        <ErrorMessage error={update.error} />
      </Card>
    </li>
  );
}
