/**
 * The live event stream's data shapes (dashboard contract, GET /api/v1/events) and pure cache-update helpers,
 * kept free of React so Vitest covers them.
 */

export const ENDED_STATUSES = ['ended', 'completed', 'busy', 'no-answer', 'failed', 'canceled'] as const;

export function isEnded(status: string | null | undefined): boolean {
  return !!status && (ENDED_STATUSES as readonly string[]).includes(status);
}

/** `call.started|updated|ended` data. */
export interface CallEvent {
  callId: string;
  status: string;
  channel: string;
  provider: string;
  direction?: string | null;
  fromNumber?: string | null;
  toNumber?: string | null;
  assistantId?: string | null;
  startedAt?: string | null;
  endedAt?: string | null;
  durationSeconds?: number | null;
  urgency?: string | null;
  endedReason?: string | null;
  summary?: string | null;
  /** The call's type as the calls list has it (`inboundPhoneCall`, Vapi's `webCall`, the widget's `webChat` / `webVoice`). */
  type?: string | null;
}

/** `transcript.turn` data: one final turn. */
export interface TurnEvent {
  callId: string;
  seq: number;
  role: string;
  text: string;
  secondsFromStart?: number | null;
  at?: string | null;
}

/** A transcript turn as the call detail carries it (latency when measured). */
export interface Turn {
  seq: number;
  role: string;
  text: string;
  secondsFromStart?: number | string | null;
  at?: string | null;
  latencyMs?: number | string | null;
}

/** Inserts or replaces a turn by `seq`, keeping the order; returns the same array when nothing changed. */
export function mergeTurn<T extends Turn>(turns: readonly T[], turn: T): T[] {
  const i = turns.findIndex((t) => t.seq === turn.seq);
  if (i >= 0) {
    const old = turns[i]!;
    if (old.text === turn.text && old.role === turn.role) return turns as T[];
    const copy = turns.slice();
    copy[i] = { ...old, ...turn };
    return copy;
  }
  return [...turns, turn].sort((a, b) => a.seq - b.seq);
}

const URGENCY_RANK: Record<string, number> = { routine: 1, soon: 2, urgent: 2, emergency: 3 };

function capturedUrgency(turn: Turn): string | null {
  const text = turn.text.trim();
  let json: string | null = null;
  if (turn.role === 'tool_result' || turn.role === 'tool') json = text;
  else if (turn.role === 'tool_call') json = /^capture_lead\(([\s\S]*)\)$/.exec(text)?.[1] ?? null;
  if (json === null) return null;
  try {
    const value = JSON.parse(json) as unknown;
    if (value === null || typeof value !== 'object') return null;
    const { urgency, captured } = value as { urgency?: unknown; captured?: unknown };
    // A result counts only when it says the lead was captured (other tools' results have no urgency).
    if (turn.role !== 'tool_call' && captured !== true) return null;
    return typeof urgency === 'string' && urgency in URGENCY_RANK ? urgency : null;
  } catch {
    return null;
  }
}

/**
 * The urgency a live card shows: the highest of the call's own (sent once a lead is saved with a call update) and what
 * `capture_lead` said during the call (its arguments and its `{"captured":true,"urgency":…}` result), so an emergency
 * shows while the caller is still on the line; null when neither says.
 */
export function liveUrgency(callUrgency: string | null | undefined, turns: readonly Turn[]): string | null {
  let best: string | null = callUrgency ?? null;
  for (const turn of turns) {
    const u = capturedUrgency(turn);
    if (u !== null && (best === null || URGENCY_RANK[u]! > (URGENCY_RANK[best] ?? 0))) best = u;
  }
  return best;
}

/** The Live page's state: calls seen on this tab, newest first, each with the turns streamed so far. */
export interface LiveState {
  calls: LiveCall[];
}
export interface LiveCall {
  call: CallEvent;
  turns: Turn[];
  /** When this tab learned the call ended (ms since epoch); ended calls stay visible a while, then move to the log. */
  endedSeenAt?: number;
}

export function applyCallEvent(state: LiveState, event: CallEvent, now: number): LiveState {
  const i = state.calls.findIndex((c) => c.call.callId === event.callId);
  const ended = isEnded(event.status);
  if (i >= 0) {
    const old = state.calls[i]!;
    const merged: LiveCall = {
      ...old,
      call: { ...old.call, ...stripNulls(event) },
      endedSeenAt: ended ? (old.endedSeenAt ?? now) : undefined,
    };
    const calls = state.calls.slice();
    calls[i] = merged;
    return { calls };
  }
  return { calls: [{ call: event, turns: [], endedSeenAt: ended ? now : undefined }, ...state.calls] };
}

export function applyTurnEvent(state: LiveState, event: TurnEvent): LiveState {
  const i = state.calls.findIndex((c) => c.call.callId === event.callId);
  const turn: Turn = { seq: event.seq, role: event.role, text: event.text, secondsFromStart: event.secondsFromStart ?? null, at: event.at ?? null };
  if (i < 0) {
    const placeholder: CallEvent = { callId: event.callId, status: 'in-progress', channel: 'phone', provider: '' };
    return { calls: [{ call: placeholder, turns: [turn] }, ...state.calls] };
  }
  const old = state.calls[i]!;
  const turns = mergeTurn(old.turns, turn);
  if (turns === old.turns) return state;
  const calls = state.calls.slice();
  calls[i] = { ...old, turns };
  return { calls };
}

/** A web conversation in the widget's chat: a conversation in writing, not a call (`channel` web, `type` webChat). */
export function isWebChat(call: Pick<CallEvent, 'channel' | 'type'>): boolean {
  return call.channel === 'web' && call.type === 'webChat';
}

/**
 * The conversations in progress split by what they are: `calls` (phone calls, and voice in the browser: Vapi's webCall, the
 * widget's voice) and `chats` (the widget's web chats, which are no calls). `unlisted`, conversations the host counted past
 * the ones it listed (GET /calls/live lists at most 100), cannot be split and are counted as calls.
 */
export function liveCounts(calls: readonly Pick<CallEvent, 'channel' | 'type'>[], unlisted = 0): { calls: number; chats: number } {
  const chats = calls.filter(isWebChat).length;
  return { calls: calls.length - chats + unlisted, chats };
}

/** Drops ended calls seen more than `keepMs` ago (they are in the Calls log). */
export function pruneEnded(state: LiveState, now: number, keepMs: number): LiveState {
  const calls = state.calls.filter((c) => c.endedSeenAt === undefined || now - c.endedSeenAt < keepMs);
  return calls.length === state.calls.length ? state : { calls };
}

function stripNulls<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

/**
 * Calls `fn` at once, then at most once per `ms` with the latest call coalesced (leading + trailing edge):
 * the first change shows immediately, a burst costs one extra refetch.
 */
export function throttle(fn: () => void, ms: number, schedule: (cb: () => void, ms: number) => unknown = setTimeout): () => void {
  let last = -Infinity;
  let pending = false;
  return () => {
    const now = Date.now();
    if (now - last >= ms && !pending) {
      last = now;
      fn();
      return;
    }
    if (pending) return;
    pending = true;
    schedule(() => {
      pending = false;
      last = Date.now();
      fn();
    }, Math.max(0, ms - (now - last)));
  };
}
