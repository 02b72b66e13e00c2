import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle } from '@/components/ui/ui';
import { useFormat } from '@/lib/session';
import { formatDateTime } from '@/lib/format/format';
import { useMailbox } from './api';

/** Operators: the installation's account emails (the local mailbox in Development), newest first, with their links. */
export function MailboxPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const [to, setTo] = useState('');
  const mailbox = useMailbox(to.trim());
  return (
    <div className="flex flex-col gap-4">
      <PageTitle>{t('account.mailbox.title')}</PageTitle>
      <p className="text-sm text-slate-700 dark:text-slate-300">{t('account.mailbox.intro')}</p>
      <Field label={t('account.mailbox.filter')} className="max-w-sm">
        <input className={inputClass} type="search" dir="ltr" value={to} onChange={(e) => setTo(e.target.value)} />
      </Field>
      <ErrorMessage error={mailbox.error} />
      {mailbox.data && mailbox.data.items.length === 0 ? <p>{t('account.mailbox.empty')}</p> : null}
      <ul className="flex flex-col gap-3">
        {mailbox.data?.items.map((m) => (
          <li key={m.id}>
            <Card>
              <div className="flex flex-wrap items-center justify-between gap-2">
                <h2 className="font-semibold">{m.subject}</h2>
                <Badge tone={m.status === 'failed' ? 'red' : m.status === 'queued' ? 'amber' : 'green'}>{t(`account.mailbox.status.${m.status}`, { defaultValue: m.status })}</Badge>
              </div>
              <p className="text-sm text-slate-600 dark:text-slate-400">
                {t('account.mailbox.to')} <Ltr>{m.to}</Ltr> · {formatDateTime(m.createdAt, fmt.locale, fmt.timeZone)}
              </p>
              {m.error ? <p className="text-sm text-red-700 dark:text-red-300">{m.error}</p> : null}
              <pre dir="ltr" className="mt-2 overflow-x-auto text-xs whitespace-pre-wrap break-all">
                {linkify(m.textBody)}
              </pre>
            </Card>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Turns this installation's links in a body into anchors (same-origin paths only). */
function linkify(text: string) {
  return text.split(/(https?:\/\/\S+)/g).map((part, i) => {
    if (!/^https?:\/\//.test(part)) return part;
    let href: string;
    try {
      const url = new URL(part);
      href = url.pathname + url.search;
    } catch {
      return part;
    }
    return (
      <a key={i} href={href} className="text-brand-700 underline dark:text-sky-300">
        {part}
      </a>
    );
  });
}
