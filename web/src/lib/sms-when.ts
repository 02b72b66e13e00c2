/**
 * Which time an SMS line shows: a text held for business hours (`scheduled`, with `sendAfter`) shows when it will go
 * out; a sent one when it was sent; any other when it was created.
 */
export function smsWhen(s: { status: string; sendAfter?: string | null; sentAt?: string | null; createdAt: string }): { kind: 'scheduled' | 'sent' | 'created'; at: string } {
  if (s.status === 'scheduled' && s.sendAfter) return { kind: 'scheduled', at: s.sendAfter };
  if (s.sentAt) return { kind: 'sent', at: s.sentAt };
  return { kind: 'created', at: s.createdAt };
}
