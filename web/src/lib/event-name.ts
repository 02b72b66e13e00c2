import type { TFunction } from 'i18next';

/** Providers whose name is a brand, the same in every language. */
const PROPER_NAMES: Readonly<Record<string, string>> = { vapi: 'Vapi', twilio: 'Twilio', openai: 'OpenAI', stripe: 'Stripe' };

/**
 * A call's provider as a person reads it: a brand by its own name (`twilio` → "Twilio"), Switchboard's own channels in
 * the reader's language (`realtime` → "Realtime bridge", `widget` → "Website chat"), anything else as sent.
 */
export function providerName(t: TFunction, provider: string | null | undefined): string {
  if (!provider) return '';
  return PROPER_NAMES[provider] ?? t(`providers.${provider}`, { defaultValue: provider });
}

/** The locale key of an event type: dots and dashes are key separators or awkward in keys (`call.ended` → `events.call_ended`). */
export function eventKey(type: string): string {
  return `events.${type.replace(/[.\-\s]/g, '_')}`;
}

/**
 * A provider or webhook event type in the reader's language (`end-of-call-report` → "End-of-call report", `call.ended`
 * → "Call ended"); a type the dashboard has no words for is shown as sent. Vapi types: docs.vapi.ai/server-url/events;
 * webhook types: `WebhookEventTypes`; Twilio types: the callbacks `TwilioVoiceApi` stores.
 */
export function eventName(t: TFunction, type: string): string {
  return t(eventKey(type), { defaultValue: type });
}

/**
 * An audit log action in the reader's language (`keys.created` → "API key created", `webhooks.endpoint_created` →
 * "Webhook endpoint added"; locale keys `auditActions.*`, dots as underscores); an action the dashboard has no words
 * for is shown as recorded. The actions are the ones the server appends (`AuditLog.AppendAsync` callers in src/Switchboard).
 */
export function auditActionName(t: TFunction, action: string): string {
  return t(`auditActions.${action.replace(/[.\-\s]/g, '_')}`, { defaultValue: action });
}
