-- 0034_sms_message_sid (SQLite): Twilio's status callbacks for outbound SMS (/webhooks/twilio/sms-status/{tenantId}) find
-- the tenant's SMS by "MessageSid", two or more times per text (sent, then delivered or undelivered): an index leading
-- with the tenant, as every tenant-owned index does, spares each callback a scan of the tenant's SMS log.

CREATE INDEX "IX_sms_messages_TenantId_MessageSid" ON "sms_messages" ("TenantId", "MessageSid");
