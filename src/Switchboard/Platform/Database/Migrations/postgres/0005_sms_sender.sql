-- 0005_sms_sender (PostgreSQL): the tenant's explicit SMS sender may be a Messaging Service SID (MG + 32 hex, 34
-- characters), so "TwilioFromNumber" widens to 64; numbers record whether Twilio says they can send SMS
-- (capabilities.sms); SMS rows record their first send attempt, which bounds the duplicate lookup after a crash.

ALTER TABLE tenants ALTER COLUMN "TwilioFromNumber" TYPE character varying(64);
ALTER TABLE phone_numbers ADD "SmsCapable" boolean;
ALTER TABLE sms_messages ADD "FirstAttemptAt" timestamp with time zone;
