import { describe, expect, it } from 'vitest';
import { applyCallEvent, applyTurnEvent, isWebChat, liveCounts, liveUrgency, mergeTurn, pruneEnded, throttle, type LiveState, type Turn } from './events';

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

describe('urgency on a live card', () => {
  const turn = (seq: number, role: string, text: string): Turn => ({ seq, role, text });

  it('an emergency capture_lead shows while the call is still in progress', () => {
    const turns = [
      turn(1, 'user', 'My basement is flooding!'),
      turn(2, 'tool_call', 'capture_lead({ "problem": "flooding", "urgency": "emergency" })'),
      turn(3, 'tool_result', '{"captured":true,"urgency":"emergency","staffAlerted":true}'),
    ];
    expect(liveUrgency(null, turns)).toBe('emergency');
  });

  it('the tool call alone is enough before its result arrives', () => {
    expect(liveUrgency(undefined, [turn(1, 'tool_call', 'capture_lead({"urgency":"soon"})')])).toBe('soon');
  });

  it('the highest urgency wins over the call update and earlier captures', () => {
    const turns = [turn(1, 'tool_result', '{"captured":true,"urgency":"routine"}'), turn(2, 'tool_result', '{"captured":true,"urgency":"emergency"}')];
    expect(liveUrgency('routine', turns)).toBe('emergency');
    expect(liveUrgency('emergency', [turn(1, 'tool_result', '{"captured":true,"urgency":"routine"}')])).toBe('emergency');
  });

  it('other tools, failed captures and plain speech give no urgency', () => {
    const turns = [
      turn(1, 'user', '{"captured":true,"urgency":"emergency"}'),
      turn(2, 'tool_call', 'check_business_hours({"urgency":"emergency"})'),
      turn(3, 'tool_result', '{"error":"bad phone","urgency":"emergency"}'),
      turn(4, 'tool_result', 'not json'),
    ];
    expect(liveUrgency(null, turns)).toBeNull();
  });
});

describe('liveCounts', () => {
  it('counts a web chat apart from the calls: a chat in the widget is no call, voice in the browser is one', () => {
    const inProgress = [
      { channel: 'voice', type: 'inboundPhoneCall' },
      { channel: 'web', type: 'webChat' },
      { channel: 'web', type: 'webVoice' },
      { channel: 'web', type: 'webCall' },
    ];
    expect(liveCounts(inProgress)).toEqual({ calls: 3, chats: 1 });
    expect(isWebChat({ channel: 'web', type: 'webChat' })).toBe(true);
    expect(isWebChat({ channel: 'web', type: null })).toBe(false);
  });

  it('counts what the host counted past its list as calls (it cannot be split)', () => {
    expect(liveCounts([{ channel: 'web', type: 'webChat' }], 2)).toEqual({ calls: 2, chats: 1 });
  });
});
