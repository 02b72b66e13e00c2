-- 0005_sms_sender (SQLite): numbers record whether Twilio says they can send SMS (capabilities.sms); SMS rows record
-- their first send attempt, which bounds the duplicate lookup after a crash. ("TwilioFromNumber" is TEXT here: the
-- PostgreSQL migration widens it for Messaging Service SIDs.) Times are UTC ticks (INTEGER).

ALTER TABLE "phone_numbers" ADD COLUMN "SmsCapable" INTEGER NULL;
ALTER TABLE "sms_messages" ADD COLUMN "FirstAttemptAt" INTEGER NULL;
