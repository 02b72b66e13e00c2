import { useEffect, useState } from 'react';
import { Link } from '@tanstack/react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Badge, Card, ErrorMessage, Ltr, PageTitle, urgencyTone } from '@/components/ui/ui';
import { request } from '@/lib/api/client';
import { fetchLiveCalls, liveCallsKey } from '@/lib/live/live-calls';
import { keys } from '@/lib/query-keys';
import { useFormat, useTenantId } from '@/lib/session';
import { formatDuration, formatPhone, formatTime } from '@/lib/format/format';
import { isEnded, isWebChat, liveCounts, liveUrgency, mergeTurn, pruneEnded, type CallEvent, type LiveCall, type LiveState, type Turn } from '@/lib/live/events';
import { cn } from '@/lib/cn';
import { readableToolText, turnKind } from '@/lib/transcript';

/** Ended calls stay on Live for two minutes, then they are only in the Calls log. */
const KEEP_ENDED_MS = 120_000;

/**
 * Live = the calls in progress when the page opened (a normal list query, refreshed with the Calls list) merged
 * with what the event stream reported since (client state written by useLiveEvents, which wins).
 */
function useLiveState(tenantId: string) {
  const qc = useQueryClient();
  const stream = useQuery({
    queryKey: keys.live(tenantId),
    queryFn: () => qc.getQueryData<LiveState>(keys.live(tenantId)) ?? { calls: [] },
    staleTime: Infinity,
  });
  const seed = useQuery({
    queryKey: liveCallsKey(tenantId),
    queryFn: ({ signal }) => fetchLiveCalls(signal),
  });
  const streamed = stream.data?.calls ?? [];
  const seen = new Set(streamed.map((c) => c.call.callId));
  const active: LiveCall[] = (seed.data?.items ?? [])
    .filter((c) => !isEnded(c.status) && !seen.has(c.id))
    .map((c) => ({
      call: { callId: c.id, status: c.status, channel: c.channel, type: c.type, provider: c.provider, fromNumber: c.customerNumber, startedAt: c.startedAt, urgency: c.urgency, summary: c.summary },
      turns: [],
    }));
  // Calls in progress beyond the ones listed (the host lists at most 100 and counts them all).
  const unlisted = Math.max(0, (seed.data?.total ?? 0) - (seed.data?.items.length ?? 0));
  // `known`: the calls in progress when the page opened were loaded, so a count (or "none") is the truth, not a guess.
  return { data: { calls: [...streamed, ...active] } satisfies LiveState, unlisted, error: seed.error, pending: seed.isPending, known: seed.isSuccess };
}

function useNow(ms: number) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

/** Calls in progress on both channels with their transcript as spoken; an ended call moves to the log. */
export function LivePage() {
  const { t } = useTranslation();
  const tenantId = useTenantId();
  const live = useLiveState(tenantId);
  const now = useNow(1000);
  const state = pruneEnded(live.data, now, KEEP_ENDED_MS);
  const active = state.calls.filter((c) => !isEnded(c.call.status));
  const ended = state.calls.filter((c) => isEnded(c.call.status));
  return (
    <>
      <PageTitle>{t('live.title')}</PageTitle>
      <ErrorMessage error={live.error} />
      {live.pending ? <p className="mb-6">{t('common.loading')}</p> : null}
      {/* Counted only when there is something to count: with nothing in progress the line below says so, once (not also
          "0 calls in progress"); and until the calls in progress have loaded, a count would be a guess. */}
      {active.length > 0 || live.unlisted > 0 ? <LiveCountsHeading counts={liveCounts(active.map((c) => c.call), live.unlisted)} /> : null}
      {live.known && active.length === 0 ? <p className="mb-6 text-sm text-slate-600 dark:text-slate-400">{t('live.none')}</p> : null}
      <ul className="mb-6 grid gap-4 lg:grid-cols-2">
        {active.map((c) => (
          <LiveCard key={c.call.callId} call={c} now={now} />
        ))}
      </ul>
      {ended.length > 0 ? (
        <>
          <h2 className="mb-2 font-semibold">{t('live.justEnded')}</h2>
          <ul className="grid gap-4 lg:grid-cols-2">
            {ended.map((c) => (
              <LiveCard key={c.call.callId} call={c} now={now} />
            ))}
          </ul>
        </>
      ) : null}
    </>
  );
}

/** "2 calls in progress", and the web chats beside them when there are any: a chat in the widget is no call. */
function LiveCountsHeading({ counts }: { counts: { calls: number; chats: number } }) {
  const { t } = useTranslation();
  return (
    <h2 className="mb-2 font-semibold">
      {t('live.active', { count: counts.calls })}
      {counts.chats > 0 ? <>{' '}<span className="font-normal">· {t('live.chats', { count: counts.chats })}</span></> : null}
    </h2>
  );
}

function LiveCard({ call, now }: { call: LiveCall; now: number }) {
  const { t } = useTranslation();
  const { locale, timeZone } = useFormat();
  const c: CallEvent = call.call;
  const ended = isEnded(c.status);
  const started = c.startedAt ? Date.parse(c.startedAt) : null;
  const elapsed = ended ? c.durationSeconds : started ? (now - started) / 1000 : null;
  // Turns spoken before this page opened come from the call detail; the stream adds the rest.
  const tenantId = useTenantId();
  const earlier = useQuery({
    queryKey: keys.call(tenantId, c.callId),
    queryFn: ({ signal }) => request<{ transcript: Turn[] }>('GET', `/api/v1/calls/${encodeURIComponent(c.callId)}`, { signal }),
    enabled: !ended,
    staleTime: Infinity,
  });
  const turns = call.turns.reduce((all, t) => mergeTurn(all, t), earlier.data?.transcript ?? []);
  const lastTurns = turns.slice(-6);
  const urgency = liveUrgency(c.urgency, turns);
  return (
    <li>
      <Card className={cn('h-full', ended && 'opacity-80')} aria-label={c.fromNumber ? formatPhone(c.fromNumber) : isWebChat(c) ? t('live.webChat') : t('live.call')}>
        <div className="mb-2 flex flex-wrap items-center gap-2">
          <Link to="/calls/$callId" params={{ callId: c.callId }} className="font-semibold text-brand-700 hover:underline dark:text-brand-100">
            {c.fromNumber ? <Ltr>{formatPhone(c.fromNumber)}</Ltr> : t(`channel.${c.channel}`, { defaultValue: c.channel })}
          </Link>
          <Badge tone={ended ? 'slate' : 'green'}>{t(`status.${c.status}`, { defaultValue: c.status })}</Badge>
          <Badge>{isWebChat(c) ? t('live.webChat') : t(`channel.${c.channel}`, { defaultValue: c.channel })}</Badge>
          {urgency ? <Badge tone={urgencyTone(urgency)}>{t(`urgency.${urgency}`, { defaultValue: urgency })}</Badge> : null}
          <span className="ms-auto text-sm tabular-nums" aria-label={t('call.duration')}>
            <Ltr>{elapsed !== null && elapsed !== undefined ? formatDuration(elapsed) : ''}</Ltr>
          </span>
        </div>
        {/* Labelled: a bare fr-CA time ("10 h 23 min 42 s") next to the elapsed time read as a second duration. */}
        {c.startedAt ? (
          <p className="mb-2 text-xs text-slate-600 dark:text-slate-400">{t('live.startedAt', { time: formatTime(c.startedAt, locale, timeZone) })}</p>
        ) : null}
        {c.summary ? (
          <p dir="auto" className="mb-2 text-sm">
            {c.summary}
          </p>
        ) : null}
        <ol className="flex flex-col gap-1 text-sm" aria-live="polite" aria-label={t('call.transcript')}>
          {lastTurns.map((turn) => (
            <li key={turn.seq}>
              <span className="font-medium text-slate-600 dark:text-slate-400">{t(`roles.${turn.role}`, { defaultValue: turn.role })}: </span>
              {turnKind(turn.role) === 'tool' ? (
                <span dir="auto" className="block max-h-40 overflow-y-auto font-mono text-xs whitespace-pre-wrap wrap-anywhere">
                  {readableToolText(turn.text)}
                </span>
              ) : (
                <span dir="auto">{turn.text}</span>
              )}
            </li>
          ))}
        </ol>
      </Card>
    </li>
  );
}
