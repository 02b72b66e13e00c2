import { describe, expect, it } from 'vitest';
import { smsWhen } from './sms-when';

describe('the time an SMS line shows', () => {
  const createdAt = '2026-12-05T23:26:00Z';

  it('a text held until business hours shows when it will be sent, not when it was made', () => {
    expect(smsWhen({ status: 'scheduled', sendAfter: '2026-12-07T12:30:00Z', sentAt: null, createdAt })).toEqual({ kind: 'scheduled', at: '2026-12-07T12:30:00Z' });
  });

  it('a sent text shows when it was sent', () => {
    expect(smsWhen({ status: 'delivered', sendAfter: '2026-12-07T12:30:00Z', sentAt: '2026-12-07T12:30:05Z', createdAt })).toEqual({ kind: 'sent', at: '2026-12-07T12:30:05Z' });
  });

  it('a queued text without a send time shows when it was made', () => {
    expect(smsWhen({ status: 'queued', sendAfter: null, sentAt: null, createdAt })).toEqual({ kind: 'created', at: createdAt });
    expect(smsWhen({ status: 'scheduled', sendAfter: null, sentAt: null, createdAt })).toEqual({ kind: 'created', at: createdAt });
  });
});
