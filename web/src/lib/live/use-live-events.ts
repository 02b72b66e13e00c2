import { useEffect, useSyncExternalStore } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { keys } from '../query-keys';
import { applyCallEvent, applyTurnEvent, mergeTurn, throttle, type CallEvent, type LiveState, type Turn, type TurnEvent } from './events';

export type Connection = 'connecting' | 'open' | 'closed';

let connection: Connection = 'connecting';
const listeners = new Set<() => void>();
function setConnection(c: Connection) {
  if (c === connection) return;
  connection = c;
  listeners.forEach((l) => l());
}

/** The live stream's state for the connection dot. */
export function useConnection(): Connection {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => connection,
  );
}

interface DetailLike {
  transcript?: Turn[];
  status?: string;
}

function parse<T>(e: MessageEvent): T | null {
  try {
    return JSON.parse(String(e.data)) as T;
  } catch {
    return null;
  }
}

/**
 * One EventSource on /api/v1/events for the signed-in tenant (mounted once, in the authenticated layout).
 * Transcript turns go straight into the cache (live page and open call detail); lists are invalidated, throttled;
 * `reset` (resume point too old) invalidates everything. EventSource resumes with Last-Event-ID by itself.
 */
export function useLiveEvents(tenantId: string): void {
  const qc = useQueryClient();
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/api/v1/events');
    setConnection('connecting');
    const invalidateCalls = throttle(() => void qc.invalidateQueries({ queryKey: keys.calls(tenantId), refetchType: 'active' }), 300);
    const invalidateLeads = throttle(() => void qc.invalidateQueries({ queryKey: keys.leads(tenantId) }), 300);
    const invalidateSms = throttle(() => void qc.invalidateQueries({ queryKey: keys.sms(tenantId) }), 300);
    const invalidateAnalytics = throttle(() => void qc.invalidateQueries({ queryKey: keys.analytics(tenantId) }), 2000);

    const onCall = (e: MessageEvent) => {
      const event = parse<CallEvent>(e);
      if (!event?.callId) return;
      updateLive(qc, tenantId, (s) => applyCallEvent(s, event, Date.now()));
      qc.setQueryData<DetailLike>(keys.call(tenantId, event.callId), (old) => (old ? { ...old, status: event.status } : old));
      invalidateCalls();
      invalidateAnalytics();
      if (e.type === 'call.ended') {
        void qc.invalidateQueries({ queryKey: keys.call(tenantId, event.callId), exact: true });
      }
    };
    const onTurn = (e: MessageEvent) => {
      const event = parse<TurnEvent>(e);
      if (!event?.callId) return;
      updateLive(qc, tenantId, (s) => applyTurnEvent(s, event));
      qc.setQueryData<DetailLike>(keys.call(tenantId, event.callId), (old) =>
        old?.transcript ? { ...old, transcript: mergeTurn(old.transcript, { ...event, latencyMs: null }) } : old,
      );
    };
    const onLead = () => {
      invalidateLeads();
      invalidateCalls();
    };
    const onReset = () => void qc.invalidateQueries({ queryKey: [tenantId] });

    source.onopen = () => setConnection('open');
    source.onerror = () => setConnection(source.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    for (const name of ['call.started', 'call.updated', 'call.ended']) source.addEventListener(name, onCall);
    source.addEventListener('transcript.turn', onTurn);
    source.addEventListener('lead.created', onLead);
    source.addEventListener('lead.updated', onLead);
    source.addEventListener('sms.updated', invalidateSms);
    source.addEventListener('reset', onReset);
    source.addEventListener('ping', () => setConnection('open'));
    return () => {
      source.close();
      setConnection('closed');
    };
  }, [qc, tenantId]);
}

export function updateLive(qc: QueryClient, tenantId: string, f: (s: LiveState) => LiveState): void {
  qc.setQueryData<LiveState>(keys.live(tenantId), (old) => f(old ?? { calls: [] }));
}
