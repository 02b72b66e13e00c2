import { isE164 } from '@/lib/phone';

/**
 * The number "Call back" dials: the lead's callback number when the caller gave one (it may differ from the caller ID,
 * e.g. a cell phone instead of the house line), else the caller ID, each only when it is a dialable E.164 number; null
 * when there is none (a hidden caller ID arrives as `anonymous`).
 */
export function callbackNumber(call: { customerNumber?: string | null; lead?: { phone?: string | null } | null }): string | null {
  if (isE164(call.lead?.phone)) return call.lead.phone;
  if (isE164(call.customerNumber)) return call.customerNumber;
  return null;
}
