import { useRef, useState, type ReactNode } from 'react';
import { Link, useParams } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { ArrowLeft, Phone } from 'lucide-react';
import { Badge, buttonClass, Card, ErrorMessage, Ltr, PageTitle, urgencyTone } from '@/components/ui/ui';
import { EndedReason } from '@/components/ui/ended-reason';
import { SmsError, SmsStatusBadge, SmsWhen } from '@/components/ui/sms-status';
import { useFormat, useTenantId } from '@/lib/session';
import { eventName, providerName } from '@/lib/event-name';
import { formatCost, formatDateTime, formatDuration, formatLatency, formatPhone, formatTime } from '@/lib/format/format';
import { cn } from '@/lib/cn';
import { readableToolText, turnKind } from '@/lib/transcript';
import { useCall, type CallDetail } from './api';
import { callbackNumber } from './callback';
import { ChannelLabel, channelKind } from './channel';
import { successText } from './success';
import { AttributionFacts, ChatTranscript, EraseVisitor } from './web-conversation';

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Card className="mb-4">
      <h2 className="mb-3 font-semibold">{title}</h2>
      {children}
    </Card>
  );
}

function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
      {rows
        .filter(([, v]) => v !== null && v !== undefined && v !== '')
        .map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="text-slate-600 dark:text-slate-400">{k}</dt>
            <dd className="min-w-0 break-words">{v}</dd>
          </div>
        ))}
    </dl>
  );
}

/** One call: header facts, recording with click-to-seek transcript, analysis, lead, SMS, webhook and raw events. */
export function CallDetailPage() {
  const { t } = useTranslation();
  const { callId } = useParams({ from: '/_app/calls/$callId' });
  const tenantId = useTenantId();
  const call = useCall(tenantId, callId);
  return (
    <>
      <Link to="/calls" className="mb-2 inline-flex items-center gap-1 text-sm text-brand-700 hover:underline dark:text-brand-100">
        <ArrowLeft aria-hidden className="size-4 rtl:rotate-180" />
        {t('calls.back')}
      </Link>
      <ErrorMessage error={call.error} />
      {call.isPending ? <p>{t('common.loading')}</p> : null}
      {call.data ? <Detail call={call.data} /> : null}
    </>
  );
}

function Detail({ call }: { call: CallDetail }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const audio = useRef<HTMLAudioElement>(null);
  const [position, setPosition] = useState(0);
  const [recordingFailed, setRecordingFailed] = useState(false);
  // The provider may have deleted the file or be unreachable: then there is nothing to play or seek.
  const hasRecording = !!(call.recordingUrl || call.stereoRecordingUrl) && !recordingFailed;
  const recordingSrc = `/api/v1/calls/${call.id}/recording`;
  const dial = callbackNumber(call);
  const turns = call.transcript;
  const isChat = channelKind(call.channel, call.type) === 'webChat';
  const currentSeq = (() => {
    let seq: number | null = null;
    for (const turn of turns) {
      const s = turn.secondsFromStart === null || turn.secondsFromStart === undefined ? null : Number(turn.secondsFromStart);
      if (s !== null && s <= position + 0.05) seq = turn.seq;
    }
    return hasRecording && position > 0 ? seq : null;
  })();

  // The player asks for nothing until it is played (preload="none"): an old call's recording may be gone or its provider
  // unreachable (a 502 from the proxy), and fetching it on every view logged an error each time. A turn clicked before the
  // recording has loaded seeks once its duration is known.
  const seek = (seconds: number) => {
    const el = audio.current;
    if (!el) return;
    setPosition(seconds);
    if (el.readyState >= HTMLMediaElement.HAVE_METADATA) {
      el.currentTime = seconds;
    } else {
      el.addEventListener(
        'loadedmetadata',
        () => {
          el.currentTime = seconds;
        },
        { once: true },
      );
    }
    void el.play().catch(() => undefined);
  };

  return (
    <>
      <PageTitle
        actions={
          dial ? (
            <a className={buttonClass('secondary')} href={`tel:${dial}`}>
              <Phone aria-hidden className="size-4" />
              {t('leads.callBack')}
              {dial !== call.customerNumber ? <Ltr>{formatPhone(dial)}</Ltr> : null}
            </a>
          ) : call.customerNumber || call.lead ? (
            <span role="note" className="text-sm text-slate-600 dark:text-slate-400">
              {t('call.noCallbackNumber')}
            </span>
          ) : null
        }
      >
        {call.customerNumber ? <Ltr>{formatPhone(call.customerNumber)}</Ltr> : <ChannelLabel channel={call.channel} type={call.type} />}
      </PageTitle>
      <Card className="mb-4">
        <div className="mb-3 flex flex-wrap gap-2">
          <Badge tone="blue">{t(`status.${call.status}`, { defaultValue: call.status })}</Badge>
          <Badge>
            <ChannelLabel channel={call.channel} type={call.type} className="gap-1" />
          </Badge>
          {call.lead?.urgency ? <Badge tone={urgencyTone(call.lead.urgency)}>{t(`urgency.${call.lead.urgency}`, { defaultValue: call.lead.urgency })}</Badge> : null}
        </div>
        <Facts
          rows={[
            [t('call.started'), formatDateTime(call.startedAt ?? call.createdAt, locale, timeZone)],
            [t('call.ended'), formatDateTime(call.endedAt, locale, timeZone)],
            [t('call.duration'), call.durationSeconds !== null ? <Ltr>{formatDuration(call.durationSeconds)}</Ltr> : null],
            [t('call.endedReason'), call.endedReason ? <EndedReason reason={call.endedReason} /> : null],
            [t('call.businessNumber'), call.businessNumber ? <Ltr>{formatPhone(call.businessNumber)}</Ltr> : null],
            [t('call.provider'), providerName(t, call.provider)],
            [t('call.providerId'), <Ltr key="id">{call.providerCallId}</Ltr>],
            [t('call.cost'), call.cost !== null && call.cost !== undefined ? formatCost(call.cost, locale) : null],
          ]}
        />
      </Card>

      {recordingFailed ? (
        <Section title={t('call.recording')}>
          <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
            {t('call.recordingUnavailable')}
          </p>
        </Section>
      ) : null}
      {hasRecording ? (
        <Section title={t('call.recording')}>
          <audio
            ref={audio}
            controls
            preload="none"
            src={recordingSrc}
            className="w-full"
            aria-label={t('call.recording')}
            onTimeUpdate={(e) => setPosition(e.currentTarget.currentTime)}
            onError={() => setRecordingFailed(true)}
          />
        </Section>
      ) : null}

      {call.attribution ? (
        <Section title={t('webConversations.attribution.title')}>
          <AttributionFacts attribution={call.attribution} />
          <EraseVisitor visitorId={call.attribution.visitorId} />
        </Section>
      ) : null}

      {isChat ? (
        <Section title={t('webConversations.chat.title')}>
          {turns.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('call.noTranscript')}</p> : null}
          <ChatTranscript turns={turns} />
        </Section>
      ) : (
      <Section title={t('call.transcript')}>
        {turns.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('call.noTranscript')}</p> : null}
        <ol className="flex flex-col gap-2" aria-live="polite">
          {turns.map((turn) => {
            const seconds = turn.secondsFromStart === null || turn.secondsFromStart === undefined ? null : Number(turn.secondsFromStart);
            const kind = turnKind(turn.role);
            const body = (
              <>
                <span className="mb-0.5 flex flex-wrap items-center gap-2 text-xs text-slate-600 dark:text-slate-400">
                  <span className="font-semibold">{t(`roles.${turn.role}`, { defaultValue: turn.role })}</span>
                  {seconds !== null ? <Ltr>{formatDuration(seconds)}</Ltr> : turn.at ? <span>{formatTime(turn.at, locale, timeZone)}</span> : null}
                  {turn.latencyMs !== null && turn.latencyMs !== undefined ? (
                    <span title={t('call.latency')}>
                      {t('call.latency')} <bdi>{formatLatency(turn.latencyMs, locale)}</bdi>
                    </span>
                  ) : null}
                </span>
                <span dir="auto" className={cn('block whitespace-pre-wrap', kind === 'tool' && 'font-mono text-xs wrap-anywhere')}>
                  {kind === 'tool' ? readableToolText(turn.text) : turn.text}
                </span>
              </>
            );
            const cls = cn(
              'block w-full rounded-md border p-2 text-start text-sm',
              kind === 'caller'
                ? 'border-sky-200 bg-sky-50 dark:border-sky-900 dark:bg-sky-950/60'
                : kind === 'tool'
                  ? 'border-dashed border-slate-300 bg-white text-slate-700 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-300'
                  : 'border-slate-200 bg-slate-50 dark:border-slate-800 dark:bg-slate-800/60',
              currentSeq === turn.seq && 'ring-2 ring-brand-500',
            );
            return (
              <li key={turn.seq} data-seq={turn.seq}>
                {hasRecording && seconds !== null ? (
                  <button type="button" className={cn(cls, 'cursor-pointer hover:border-brand-500')} onClick={() => seek(seconds)} aria-current={currentSeq === turn.seq ? 'true' : undefined}>
                    {body}
                  </button>
                ) : (
                  <div className={cls}>{body}</div>
                )}
              </li>
            );
          })}
        </ol>
      </Section>
      )}

      {call.summary || call.structuredData || call.successEvaluation ? (
        <Section title={t('call.analysis')}>
          {call.summary ? (
            <p dir="auto" className="mb-3 text-sm">
              {call.summary}
            </p>
          ) : null}
          {call.successEvaluation ? (
            <p className="mb-3 text-sm">
              <span className="font-medium">{t('call.successEvaluation')}: </span>
              {successText(call.successEvaluation, t)}
            </p>
          ) : null}
          {call.structuredData ? (
            <>
              <h3 className="mb-1 text-sm font-medium">{t('call.structuredData')}</h3>
              <pre dir="ltr" className="overflow-x-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">
                {JSON.stringify(call.structuredData, null, 2)}
              </pre>
            </>
          ) : null}
        </Section>
      ) : null}

      {call.lead ? (
        <Section title={t('call.lead')}>
          <Facts
            rows={[
              [t('leads.name'), call.lead.name ? <span dir="auto">{call.lead.name}</span> : null],
              [t('leads.phone'), call.lead.phone ? <Ltr>{formatPhone(call.lead.phone)}</Ltr> : null],
              [t('leads.address'), call.lead.address ? <span dir="auto">{call.lead.address}</span> : null],
              [t('leads.problem'), call.lead.problem ? <span dir="auto">{call.lead.problem}</span> : null],
              [t('leads.urgency'), t(`urgency.${call.lead.urgency}`, { defaultValue: call.lead.urgency })],
              [t('leads.status'), call.lead.status ? t(`leadStatus.${call.lead.status}`, { defaultValue: call.lead.status }) : null],
            ]}
          />
          <Link to="/leads" className="mt-2 inline-block text-sm text-brand-700 hover:underline dark:text-brand-100">
            {t('call.openLeads')}
          </Link>
        </Section>
      ) : null}

      <Section title={t('call.sms')}>
        {call.sms.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-400">{t('call.noSms')}</p> : null}
        <ul className="flex flex-col gap-2 text-sm">
          {call.sms.map((s) => (
            <li key={s.id} className="rounded border border-slate-200 p-2 dark:border-slate-800">
              <div className="mb-1 flex flex-wrap gap-2 text-xs text-slate-600 dark:text-slate-400">
                <Ltr>{formatPhone(s.to)}</Ltr>
                <SmsStatusBadge status={s.status} />
                <SmsWhen sms={s} />
              </div>
              <p dir="auto" className="whitespace-pre-line">{s.body}</p>
              <SmsError code={s.errorCode} message={s.errorMessage} className="mt-1 text-xs text-red-700 dark:text-red-300" />
            </li>
          ))}
        </ul>
      </Section>

      {call.webhookEvents && call.webhookEvents.length > 0 ? (
        <Section title={t('call.webhookEvents')}>
          <ul className="flex flex-col gap-1 text-sm">
            {call.webhookEvents.map((w) => (
              <li key={w.id} className="flex flex-wrap gap-2">
                <span title={w.type}>{eventName(t, w.type)}</span>
                <Badge>{t(`call.delivery.${w.deliveryStatus}`, { defaultValue: w.deliveryStatus })}</Badge>
                <span className="text-slate-600 dark:text-slate-400">{formatDateTime(w.createdAt, locale, timeZone)}</span>
              </li>
            ))}
          </ul>
        </Section>
      ) : null}

      {call.rawEvents && call.rawEvents.length > 0 ? (
        <Section title={t('call.rawEvents')}>
          <ul className="flex flex-col gap-2 text-sm">
            {call.rawEvents.map((r) => (
              <li key={r.id}>
                <details>
                  <summary className="cursor-pointer">
                    <span title={r.type}>{eventName(t, r.type)}</span> · {formatDateTime(r.receivedAt, locale, timeZone)}
                  </summary>
                  <pre dir="ltr" className="mt-1 max-h-80 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">
                    {typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2)}
                  </pre>
                </details>
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
    </>
  );
}
