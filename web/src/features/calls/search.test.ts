import { describe, expect, it } from 'vitest';
import { callsSearchSchema, toCallsQuery } from './search';

describe('calls search params', () => {
  it('drops invalid values instead of failing the page', () => {
    const s = callsSearchSchema.parse({ urgency: 'panic', channel: 'web', range: '7d', q: 'sous-sol' });
    expect(s).toEqual({ urgency: undefined, channel: 'web', range: '7d', q: 'sous-sol', status: undefined, direction: undefined, number: undefined, hasRecording: undefined, duration: undefined, endedReason: undefined });
  });

  it('maps presets to API filters in the tenant zone', () => {
    const q = toCallsQuery({ range: 'today', duration: '1to5', number: '(514) 555-01', q: '  flood ' }, 'America/Toronto', new Date('2026-11-30T15:00:00Z'));
    expect(q.from).toBe('2026-11-30T05:00:00.000Z');
    expect(q.minDuration).toBe(60);
    expect(q.maxDuration).toBe(300);
    expect(q.number).toBe('51455501');
    expect(q.q).toBe('flood');
  });

  it('a number filter without digits is sent as typed, so the API can refuse it rather than list every call', () => {
    expect(toCallsQuery({ number: 'abc<>%' }, 'UTC').number).toBe('abc<>%');
    expect(toCallsQuery({ number: '  ' }, 'UTC').number).toBeUndefined();
  });

  it('keeps a search longer than the API allows, so the refusal is shown instead of the search vanishing', () => {
    const long = 'x'.repeat(250);
    expect(callsSearchSchema.parse({ q: long }).q).toBe(long);
    expect(toCallsQuery({ q: long }, 'UTC').q).toBe(long);
  });
});
