-- 0034_sms_message_sid (PostgreSQL): Twilio's status callbacks for outbound SMS (/webhooks/twilio/sms-status/{tenantId})
-- find the tenant's SMS by "MessageSid", two or more times per text (sent, then delivered or undelivered): an index leading
-- with the tenant (the distribution column, ready for Citus) spares each callback a scan of the tenant's SMS log. Status
-- changes do not touch it, so a callback's update stays heap-only when the page has room.

CREATE INDEX "IX_sms_messages_TenantId_MessageSid" ON sms_messages ("TenantId", "MessageSid");
