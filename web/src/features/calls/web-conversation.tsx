import { useState } from 'react';
import { useNavigate } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, ErrorMessage, Ltr } from '@/components/ui/ui';
import { api, data } from '@/lib/api/client';
import { keys } from '@/lib/query-keys';
import { useFormat, useTenantId } from '@/lib/session';
import { usePermissions } from '@/features/admin/api';
import { formatLanguage, formatTime } from '@/lib/format/format';
import { cn } from '@/lib/cn';
import type { CallDetail } from './api';

type Attribution = NonNullable<CallDetail['attribution']>;
type Turn = CallDetail['transcript'][number];

/** A URL shown whole, left to right, wrapping anywhere (page URLs with UTM parameters are long), linked when http(s). */
function Url({ href }: { href: string }) {
  const safe = /^https?:\/\//i.test(href);
  const text = <bdi dir="ltr" className="break-all">{href}</bdi>;
  return safe ? (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow" className="text-brand-700 hover:underline dark:text-brand-100">
      {text}
    </a>
  ) : (
    text
  );
}

/**
 * Where a web conversation came from: the site, the page, the referrer, the UTM parameters and the ad click ids, the
 * widget's language and the visitor id (the key of an erasure by visitor). After the retention policy ran, only the site,
 * language and visitor id are left, and the card says so.
 */
export function AttributionFacts({ attribution: a }: { attribution: Attribution }) {
  const { t } = useTranslation();
  const { locale } = useFormat();
  const k = (key: string) => t(`webConversations.attribution.${key}`);
  // Each row: label, value, and how it is shown: a link, a code kept left to right, or words (the language's name).
  const rows: [string, string | null | undefined, 'url' | 'code' | 'words'][] = [
    [k('website'), a.origin, 'url'],
    [k('pageUrl'), a.pageUrl, 'url'],
    [k('referrer'), a.referrer, 'url'],
    [k('utmSource'), a.utmSource, 'code'],
    [k('utmMedium'), a.utmMedium, 'code'],
    [k('utmCampaign'), a.utmCampaign, 'code'],
    [k('utmTerm'), a.utmTerm, 'code'],
    [k('utmContent'), a.utmContent, 'code'],
    [k('gclid'), a.gclid, 'code'],
    [k('fbclid'), a.fbclid, 'code'],
    [k('language'), a.language ? formatLanguage(a.language, locale) : null, 'words'],
    [k('visitorId'), a.visitorId, 'code'],
  ];
  const campaign = a.referrer || a.utmSource || a.utmMedium || a.utmCampaign || a.gclid || a.fbclid;
  return (
    <>
      <dl className="grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[max-content_1fr]" data-testid="call-attribution">
        {rows
          .filter(([, v]) => v)
          .map(([label, value, kind]) => (
            <div key={label} className="contents">
              <dt className="text-slate-600 dark:text-slate-400">{label}</dt>
              <dd className="mb-1 min-w-0 break-words sm:mb-0">{kind === 'url' ? <Url href={value!} /> : kind === 'words' ? <bdi>{value}</bdi> : <Ltr>{value}</Ltr>}</dd>
            </div>
          ))}
      </dl>
      {!a.pageUrl ? (
        <p className="mt-2 text-sm text-slate-600 dark:text-slate-400">{k('cleared')}</p>
      ) : !campaign ? (
        <p className="mt-2 text-sm text-slate-600 dark:text-slate-400">{k('direct')}</p>
      ) : null}
    </>
  );
}

/**
 * Erases the visitor (POST /api/v1/erasure/caller with the widget's visitor id): their web conversations, attribution,
 * transcripts, leads and SMS, and everything under the phone numbers their chats learnt. Owners and admins only, after a
 * confirmation; the dashboard then returns to the calls list.
 */
export function EraseVisitor({ visitorId }: { visitorId: string }) {
  const { t } = useTranslation();
  const can = usePermissions();
  const tenantId = useTenantId();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const erase = useMutation({
    mutationFn: async () => data(await api.POST('/api/v1/erasure/caller', { body: { phoneNumber: null, visitorId } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: keys.calls(tenantId) });
      await navigate({ to: '/calls' });
    },
  });
  if (!can.compliance) return null;
  return (
    <div className="mt-3 border-t border-slate-200 pt-3 dark:border-slate-800">
      <p className="mb-2 text-xs text-slate-600 dark:text-slate-400">{t('webConversations.erase.hint')}</p>
      <ErrorMessage error={erase.error} />
      {confirming ? (
        <div className="flex flex-wrap gap-2">
          <Button variant="danger" onClick={() => erase.mutate()} disabled={erase.isPending}>
            {t('webConversations.erase.confirm')}
          </Button>
          <Button onClick={() => setConfirming(false)}>{t('webConversations.erase.cancel')}</Button>
        </div>
      ) : (
        <Button onClick={() => setConfirming(true)}>{t('webConversations.erase.start')}</Button>
      )}
    </div>
  );
}

/** A web chat's transcript as a chat: the visitor's messages on one side, the assistant's on the other, with their times. */
export function ChatTranscript({ turns }: { turns: Turn[] }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  return (
    <ol className="flex flex-col gap-2" aria-live="polite" data-testid="chat-transcript">
      {turns.map((turn) => {
        const visitor = turn.role === 'user' || turn.role === 'customer';
        const assistant = turn.role === 'assistant' || turn.role === 'bot';
        if (!visitor && !assistant) {
          return (
            <li key={turn.seq} data-seq={turn.seq} className="self-center text-xs text-slate-500 dark:text-slate-400">
              <span dir="auto">{turn.text}</span>
            </li>
          );
        }
        return (
          <li
            key={turn.seq}
            data-seq={turn.seq}
            data-role={visitor ? 'visitor' : 'assistant'}
            className={cn('flex max-w-[85%] flex-col', visitor ? 'items-start self-start' : 'items-end self-end')}
          >
            <span className="mb-0.5 text-xs text-slate-600 dark:text-slate-400">
              <span className="font-semibold">{t(visitor ? 'webConversations.chat.visitor' : 'webConversations.chat.assistant')}</span>
              {turn.at ? <span className="ms-2">{formatTime(turn.at, locale, timeZone)}</span> : null}
            </span>
            <span
              dir="auto"
              className={cn(
                'rounded-2xl px-3 py-2 text-sm whitespace-pre-wrap break-words',
                visitor
                  ? 'rounded-ss-sm bg-sky-100 text-slate-900 dark:bg-sky-950 dark:text-slate-100'
                  : 'rounded-se-sm bg-slate-100 text-slate-900 dark:bg-slate-800 dark:text-slate-100',
              )}
            >
              {turn.text}
            </span>
          </li>
        );
      })}
    </ol>
  );
}
