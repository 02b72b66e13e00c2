import { Link, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Plus } from 'lucide-react';
import { Badge, buttonClass, Card, ErrorMessage, PageTitle } from '@/components/ui/ui';
import { useFormat, useTenantId } from '@/lib/session';
import { formatDateTime } from '@/lib/format/format';
import { statusTone, syncProblem, useAssistants, type Assistant } from './api';
import { ReturnToBanner } from './return-to';

/** Settings → Assistant studio: the tenant's assistants with their Vapi sync status; opens the editor. */
export function AssistantsPage() {
  const { t } = useTranslation();
  const { returnTo } = useSearch({ from: '/_app/settings/assistants/' });
  const tenantId = useTenantId();
  const assistants = useAssistants(tenantId);
  return (
    <>
      <ReturnToBanner returnTo={returnTo} />
      <PageTitle
        actions={
          <Link to="/settings/assistants/$assistantId" params={{ assistantId: 'new' }} search={{ returnTo }} className={buttonClass('primary')}>
            <Plus aria-hidden className="size-4" />
            {t('studio.assistants.new')}
          </Link>
        }
      >
        {t('studio.assistants.title')}
      </PageTitle>
      <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">{t('studio.assistants.intro')}</p>
      <ErrorMessage error={assistants.error} />
      {assistants.isPending ? <p>{t('common.loading')}</p> : null}
      {assistants.data && assistants.data.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('studio.assistants.empty')}</p> : null}
      <ul className="grid gap-3 lg:grid-cols-2">
        {(assistants.data ?? []).map((a) => (
          <AssistantCard key={a.id} assistant={a} returnTo={returnTo} />
        ))}
      </ul>
    </>
  );
}

/** A sync status badge with its error as a tooltip and text. */
export function SyncBadge({ assistant }: { assistant: Assistant }) {
  const { t } = useTranslation();
  const status = assistant.syncStatus ?? 'local';
  return <Badge tone={statusTone(status)}>{t(`studio.sync.${status}`, { defaultValue: status })}</Badge>;
}

function AssistantCard({ assistant, returnTo }: { assistant: Assistant; returnTo: string | undefined }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  return (
    <li>
      <Card aria-label={assistant.name}>
        <div className="mb-2 flex flex-wrap items-center gap-2">
          <h2 className="font-semibold" dir="auto">
            {assistant.name}
          </h2>
          {assistant.isDefault ? <Badge tone="blue">{t('studio.assistants.default')}</Badge> : null}
          <SyncBadge assistant={assistant} />
        </div>
        {assistant.firstMessage ? (
          <p dir="auto" className="mb-2 line-clamp-2 text-sm text-slate-700 dark:text-slate-300">
            {assistant.firstMessage}
          </p>
        ) : null}
        <p className="mb-3 text-xs text-slate-600 dark:text-slate-400">
          {assistant.languages.join(', ')}
          {assistant.syncedAt ? ` · ${t('studio.sync.syncedAt', { at: formatDateTime(assistant.syncedAt, locale, timeZone) })}` : ''}
        </p>
        {syncProblem(assistant, t) ? (
          <p className="mb-3 text-sm text-red-700 dark:text-red-300" dir="auto">
            {syncProblem(assistant, t)}
          </p>
        ) : null}
        <Link to="/settings/assistants/$assistantId" params={{ assistantId: assistant.id }} search={{ returnTo }} className={buttonClass('secondary')}>
          {t('studio.assistants.edit')}
        </Link>
      </Card>
    </li>
  );
}
