import { describe, expect, it } from 'vitest';
import { auditSearchSchema, toAuditQuery } from './audit-search';

describe('audit filters', () => {
  it('sends whole days in the tenant zone, the last day inclusive', () => {
    const q = toAuditQuery({ from: '2026-11-01', to: '2026-11-01', action: ' keys. ' }, 'America/Toronto');
    expect(q.from).toBe('2026-11-01T04:00:00.000Z');
    expect(q.to).toBe('2026-11-02T05:00:00.000Z'); // daylight saving ends on 1 November 2026
    expect(q.action).toBe('keys.');
  });

  it('drops a hand-edited bad value instead of failing', () => {
    expect(auditSearchSchema.parse({ actorType: 'robot', from: 'yesterday', page: -3 })).toEqual({});
    // Shaped like a day but not one: the page would throw on it (no midnight to compute) instead of listing.
    const impossible = auditSearchSchema.parse({ from: '2026-13-45', to: '2026-02-31' });
    expect(impossible).toEqual({});
    expect(toAuditQuery(impossible, 'America/Toronto')).toMatchObject({ from: undefined, to: undefined });
  });
});
