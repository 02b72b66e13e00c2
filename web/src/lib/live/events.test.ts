import { describe, expect, it } from 'vitest';
import { applyCallEvent, applyTurnEvent, mergeTurn, pruneEnded, throttle, type LiveState } from './events';

describe('live events', () => {
  it('merges turns by seq in order and ignores repeats', () => {
    const a = mergeTurn([], { seq: 2, role: 'user', text: 'b' });
    const b = mergeTurn(a, { seq: 1, role: 'assistant', text: 'a' });
    expect(b.map((t) => t.seq)).toEqual([1, 2]);
    expect(mergeTurn(b, { seq: 2, role: 'user', text: 'b' })).toBe(b);
  });

  it('adds a call on start, marks it ended, and prunes it later', () => {
    let s: LiveState = { calls: [] };
    s = applyCallEvent(s, { callId: 'c1', status: 'in-progress', channel: 'phone', provider: 'twilio', fromNumber: '+15145550100' }, 1000);
    s = applyTurnEvent(s, { callId: 'c1', seq: 1, role: 'assistant', text: 'Bonjour' });
    s = applyCallEvent(s, { callId: 'c1', status: 'completed', channel: 'phone', provider: 'twilio', fromNumber: null, urgency: 'emergency' }, 2000);
    expect(s.calls[0]!.call.fromNumber).toBe('+15145550100');
    expect(s.calls[0]!.call.urgency).toBe('emergency');
    expect(s.calls[0]!.turns).toHaveLength(1);
    expect(s.calls[0]!.endedSeenAt).toBe(2000);
    expect(pruneEnded(s, 2500, 1000).calls).toHaveLength(1);
    expect(pruneEnded(s, 3500, 1000).calls).toHaveLength(0);
  });

  it('a turn for an unknown call creates a placeholder call', () => {
    const s = applyTurnEvent({ calls: [] }, { callId: 'x', seq: 1, role: 'user', text: 'hi' });
    expect(s.calls[0]!.call.status).toBe('in-progress');
  });

  it('throttles to a leading call and one trailing call per window', () => {
    const calls: number[] = [];
    const timers: (() => void)[] = [];
    const f = throttle(() => calls.push(1), 250, (cb) => timers.push(cb));
    f();
    f();
    f();
    expect(calls).toHaveLength(1);
    expect(timers).toHaveLength(1);
    timers[0]!();
    expect(calls).toHaveLength(2);
  });
});
