/**
 * Why a call ended, in words. `endedReason` is a free string: Vapi's (627 values in its spec: a core set plus
 * `pipeline-error-*`, `call.in-progress.error-*`, `call.start.error-*` and `assistant-request-*` families;
 * shared/protocols/vapi-server-messages.md, "endedReason"), Twilio's terminal `CallStatus` values other than `completed`
 * (busy, no-answer, failed, canceled), and Switchboard's own from the native bridge, the voice webhook and web chat.
 * Each known value maps to a label key under `endedReason.` in the locale files; a value of a known family maps to the
 * family's; anything else is shown as received.
 */
const LABEL_OF: Readonly<Record<string, string>> = {
  // Vapi: the caller
  'customer-ended-call': 'callerHungUp',
  'customer-ended-call-before-warm-transfer': 'callerHungUpInTransfer',
  'customer-ended-call-after-warm-transfer-attempt': 'callerHungUpInTransfer',
  'customer-ended-call-during-transfer': 'callerHungUpInTransfer',
  'customer-busy': 'busy',
  'customer-did-not-answer': 'noAnswer',
  'customer-did-not-give-microphone-permission': 'noMicrophone',
  // Vapi: the assistant
  'assistant-ended-call': 'assistantEnded',
  'assistant-said-end-call-phrase': 'assistantEnded',
  'assistant-ended-call-with-hangup-task': 'assistantEnded',
  'assistant-ended-call-after-message-spoken': 'assistantEnded',
  'assistant-forwarded-call': 'transferred',
  // Vapi: limits and control
  'exceeded-max-duration': 'maxDuration',
  'silence-timed-out': 'silence',
  'manually-canceled': 'canceled',
  voicemail: 'voicemail',
  'twilio-failed-to-connect-call': 'failed',
  'worker-shutdown': 'providerError',
  // Twilio CallStatus (native calls)
  busy: 'busy',
  'no-answer': 'noAnswer',
  failed: 'failed',
  canceled: 'canceled',
  // Switchboard: the native bridge, the voice webhook, web chat
  'caller-hangup': 'callerHungUp',
  'assistant-hangup': 'assistantEnded',
  transferred: 'transferred',
  'transfer-failed': 'transferFailed',
  // the <Dial action> of a cold transfer nobody took (DialCallStatus)
  'transfer-busy': 'transferFailed',
  'transfer-no-answer': 'transferFailed',
  'transfer-canceled': 'transferFailed',
  'idle-timeout': 'silence',
  'max-duration': 'maxDuration',
  'provider-unreachable': 'providerUnreachable',
  'stream-failed': 'audioError',
  'stream-error': 'audioError',
  'stream-timeout': 'audioError',
  'stream-stuck': 'audioError',
  'stream-mismatch': 'audioError',
  'after-hours': 'afterHours',
  'over-limit': 'overLimit',
  'tenant-suspended': 'suspended',
  'no-assistant': 'noAssistant',
  'chat-idle': 'chatIdle',
  fax: 'fax',
  // closed by Switchboard when the call's end never came (Vapi's end-of-call report, or the native stream's end and
  // Twilio's final status callback)
  'end-of-call-report-missing': 'endNotReported',
  'status-callback-missing': 'endNotReported',
  'stream-end-missing': 'endNotReported', // a bridged call whose node died; ended by Twilio's status alone
};

const FAMILIES: ReadonlyArray<readonly [prefix: string, label: string]> = [
  ['pipeline-error-', 'providerError'],
  ['call.in-progress.error-', 'providerError'],
  ['call.start.error-', 'startError'],
  ['assistant-request-', 'startError'],
];

/** The label key (under `endedReason.`) of a reason, or null when it has none and is shown as received. */
export function endedReasonLabel(reason: string): string | null {
  return LABEL_OF[reason] ?? FAMILIES.find(([prefix]) => reason.startsWith(prefix))?.[1] ?? null;
}

/** The reason in the reader's words, or as received when unknown. */
export function endedReasonText(reason: string, t: (key: string) => string): string {
  const label = endedReasonLabel(reason);
  return label ? t(`endedReason.${label}`) : reason;
}

/** One row of the ended-reasons table: the reasons that share a label (or one unlabelled reason) and their total. */
export interface EndedReasonRow {
  /** The label key under `endedReason.`, or null for a reason shown as received. */
  label: string | null;
  /** The values received, most calls first. */
  reasons: string[];
  count: number;
}

/**
 * Folds `{reason, count}` rows (the analytics API's `endedReasons`) into one row per label, so "customer-busy" (Vapi) and
 * "busy" (Twilio) are one "Line busy"; most calls first, ties in the order received.
 */
export function groupEndedReasons(rows: ReadonlyArray<{ reason: string; count: number }>): EndedReasonRow[] {
  const byKey = new Map<string, EndedReasonRow>();
  for (const { reason, count } of rows) {
    const label = endedReasonLabel(reason);
    const key = label ?? `raw:${reason}`;
    const row = byKey.get(key) ?? { label, reasons: [], count: 0 };
    row.reasons.push(reason);
    row.count += count;
    byKey.set(key, row);
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count);
}
