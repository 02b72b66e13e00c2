import { formatPhone } from '@/lib/format/format';
import { parsePhoneList } from '@/lib/phone';

/** The numbers of a policy, as the API returns them (E.164). */
export interface PolicyNumbers {
  onCallNumbers: readonly string[];
  officeNumbers: readonly string[];
}

/**
 * Who an assistant's empty alert list falls back to, as the server decides it: an empty on-call or office list inherits the
 * business's (`AlertPolicy.For`), and routine leads go to the on-call numbers when no office number applies (`AlertService`).
 * - `business`: the business's numbers of that list apply (`numbers`).
 * - `onCall`: office only; no office number applies, so routine leads go to the on-call numbers (`numbers`: the business's
 *   on-call numbers when the assistant has none of its own, else empty: the assistant's own, typed above, apply).
 * - `nobody`: nothing applies, nobody is texted.
 * `own` is the assistant's list as typed in the form.
 */
export type Inherited = { kind: 'business' | 'onCall'; numbers: readonly string[] } | { kind: 'nobody' };

/** What an empty on-call field means for the assistant: the business's on-call numbers, or nobody. */
export function inheritedOnCall(business: PolicyNumbers): Inherited {
  return business.onCallNumbers.length > 0 ? { kind: 'business', numbers: business.onCallNumbers } : { kind: 'nobody' };
}

/** What an empty office field means for the assistant, given its on-call field as typed (`ownOnCall`). */
export function inheritedOffice(business: PolicyNumbers, ownOnCall: string): Inherited {
  if (business.officeNumbers.length > 0) return { kind: 'business', numbers: business.officeNumbers };
  if (parsePhoneList(ownOnCall).numbers.length > 0) return { kind: 'onCall', numbers: [] };
  if (business.onCallNumbers.length > 0) return { kind: 'onCall', numbers: business.onCallNumbers };
  return { kind: 'nobody' };
}

/** A list field's text for E.164 numbers, as the forms show them ("+15145550111, +15145550100"). */
export function numbersText(numbers: readonly string[] | null | undefined): string {
  return (numbers ?? []).join(', ');
}

/**
 * Numbers for a sentence in any direction ("+1 514-555-0111, +1 514-555-0100"): each formatted (`formatPhone`) and wrapped
 * in a left-to-right isolate (U+2066 … U+2069), so a Hebrew or Arabic sentence does not reorder its digits and signs.
 */
export function numbersForSentence(numbers: readonly string[]): string {
  return numbers.map((n) => `\u2066${formatPhone(n)}\u2069`).join(', ');
}

/** The translation key and values of the hint under an empty alert field (`alertSettings.inherits.*`). */
export function inheritedHint(field: 'onCall' | 'office', inherited: Inherited): { key: string; numbers?: string } {
  if (inherited.kind === 'nobody') return { key: `alertSettings.inherits.${field}Nobody` };
  if (field === 'onCall' || inherited.kind === 'business') return { key: `alertSettings.inherits.${field}`, numbers: numbersForSentence(inherited.numbers) };
  return inherited.numbers.length > 0
    ? { key: 'alertSettings.inherits.officeOnCall', numbers: numbersForSentence(inherited.numbers) }
    : { key: 'alertSettings.inherits.officeOwnOnCall' };
}
