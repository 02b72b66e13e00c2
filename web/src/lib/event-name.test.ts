import { describe, expect, it } from 'vitest';
import { createTestI18n } from './i18n/test-instance';
import { auditActionName, eventName } from './event-name';

const i18n = await createTestI18n();

/** The server's webhook event types (Webhooks/WebhookEventTypes.cs). */
const WEBHOOK_TYPES = [
  'call.started', 'call.ended', 'call.analyzed', 'call.transferred', 'call.transfer_failed', 'lead.created', 'lead.urgent', 'lead.updated',
  'sms.sent', 'sms.failed', 'recording.ready', 'assistant.updated', 'billing.plan_changed', 'billing.payment_failed', 'webhook.test',
];

/** The audit actions the server appends (the AuditLog.AppendAsync callers in src/Switchboard). */
const AUDIT_ACTIONS = [
  'account.signup', 'account.terms_accepted', 'assistant.created', 'assistant.deleted', 'assistant.outbound.updated', 'assistant.updated',
  'auth.email_verified', 'auth.lockout', 'auth.login', 'auth.login_failed', 'auth.logout', 'auth.password_reset', 'auth.password_reset_requested',
  'auth.switch_tenant', 'billing.drift', 'billing.duplicate_refunded', 'billing.duplicate_subscription', 'billing.features_restored',
  'billing.features_suspended', 'billing.meter_error', 'billing.reconciled', 'business.updated', 'call.outbound.queued', 'call.outbound.refused',
  'campaign.canceled', 'campaign.created', 'campaign.paused', 'campaign.resumed', 'campaign.scheduled', 'campaign.started', 'credentials.checked',
  'credentials.deleted', 'credentials.updated', 'data.exported', 'dnc.added', 'dnc.imported', 'dnc.removed', 'erasure.caller', 'keys.created',
  'keys.revoked', 'keys.rotated', 'knowledge.document.added', 'knowledge.document.deleted', 'knowledge.document.reindexed', 'lead.updated',
  'number.attached', 'number.detached', 'number.updated', 'onboarding.completed', 'operator.granted', 'operator.revoked', 'operator.tenant_updated',
  'plan.changed', 'retention.updated', 'team.invitation_accepted', 'team.invitation_revoked', 'team.invited', 'team.member_removed',
  'team.role_changed', 'tenant.erased', 'webhooks.endpoint_created', 'webhooks.endpoint_deleted', 'webhooks.endpoint_updated',
  'webhooks.secret_rotated', 'widget.origins_updated', 'widget.settings_updated',
];

describe('eventName and auditActionName', () => {
  it.each(['en', 'fr', 'he', 'ar'])('every webhook event type and audit action is worded in %s, never shown as its code', (lng) => {
    const t = i18n.getFixedT(lng);
    for (const type of WEBHOOK_TYPES) {
      const name = eventName(t, type);
      expect(name, type).not.toBe(type);
      expect(name, type).not.toMatch(/^events\.|[a-z]_[a-z]/);
    }
    for (const action of AUDIT_ACTIONS) {
      const name = auditActionName(t, action);
      expect(name, action).not.toBe(action);
      expect(name, action).not.toMatch(/^auditActions\.|[a-z]_[a-z]/);
    }
  });

  it('words a known code in the reader’s language', () => {
    expect(eventName(i18n.getFixedT('fr'), 'call.ended')).toBe('Appel terminé');
    expect(auditActionName(i18n.getFixedT('en'), 'keys.created')).toBe('API key created');
    expect(auditActionName(i18n.getFixedT('fr'), 'webhooks.secret_rotated')).toBe('Secret de signature du webhook renouvelé');
    expect(auditActionName(i18n.getFixedT('ar'), 'team.invited')).toBe('تمت دعوة عضو');
  });

  it('shows a code it has no words for as sent', () => {
    expect(eventName(i18n.getFixedT('he'), 'call.teleported')).toBe('call.teleported');
    expect(auditActionName(i18n.getFixedT('fr'), 'robots.uprising')).toBe('robots.uprising');
  });
});
