import { Link } from '@tanstack/react-router';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Badge, Card, ErrorMessage, Ltr, PageTitle } from '@/components/ui/ui';
import { SmsError, SmsStatusBadge, SmsWhen } from '@/components/ui/sms-status';
import { api, data } from '@/lib/api/client';
import { keys } from '@/lib/query-keys';
import { useTenantId } from '@/lib/session';
import { formatPhone } from '@/lib/format/format';

/** The SMS log with delivery status, refreshed live on `sms.updated`. */
export function SmsPage() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const sms = useQuery({
    queryKey: keys.sms(tenantId),
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/sms', { params: { query: { pageSize: 100 } }, signal })),
  });
  const items = sms.data?.items ?? [];
  return (
    <>
      <PageTitle>{t('sms.title')}</PageTitle>
      <ErrorMessage error={sms.error} />
      {sms.isPending ? <p>{t('common.loading')}</p> : null}
      {/* Only a list that loaded can say there is nothing: a failed load is not an empty log. */}
      {sms.isSuccess && items.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('sms.empty')}</p> : null}
      <ul className="flex flex-col gap-3">
        {items.map((s) => (
          <li key={s.id}>
            <Card>
              <div className="mb-1 flex flex-wrap items-center gap-2 text-sm">
                <span className="font-medium">
                  {t(`sms.direction.${s.direction}`, { defaultValue: s.direction })} <Ltr>{formatPhone(s.direction === 'inbound' ? s.from : s.to)}</Ltr>
                </span>
                <SmsStatusBadge status={s.status} />
                <Badge>{t(`sms.purpose.${s.purpose}`, { defaultValue: s.purpose })}</Badge>
                <SmsWhen sms={s} className="ms-auto text-xs text-slate-600 dark:text-slate-400" />
              </div>
              <p dir="auto" className="text-sm whitespace-pre-wrap">
                {s.body}
              </p>
              <SmsError code={s.errorCode} message={s.errorMessage} className="mt-1 text-xs text-red-700 dark:text-red-300" />
              {s.callId ? (
                <Link to="/calls/$callId" params={{ callId: s.callId }} className="mt-1 inline-block text-xs text-brand-700 hover:underline dark:text-brand-100">
                  {t('leads.openCall')}
                </Link>
              ) : null}
            </Card>
          </li>
        ))}
      </ul>
    </>
  );
}
