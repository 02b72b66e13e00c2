-- 0022_outbound (SQLite): outbound calls (issue 11 part A). A call knows its direction (inbound by default), the
-- context variables an outbound call was placed with (JSON) and what answered it (Twilio AnsweredBy). An assistant may
-- carry its own voicemail message and an automatic callback delay (minutes; null = off). do_not_call is a tenant's internal do-not-call list (one row per E.164 number, with
-- when and how it was added: api, csv, callee-request); outbound_refusals records every outbound call Switchboard
-- refused to place and why (dnc, calling window, invalid number), with the next allowed time when there is one.
-- Times are UTC ticks (INTEGER).

ALTER TABLE "calls" ADD COLUMN "Direction" TEXT NOT NULL DEFAULT 'inbound';
ALTER TABLE "calls" ADD COLUMN "OutboundContextJson" TEXT NULL;
ALTER TABLE "calls" ADD COLUMN "AnsweredBy" TEXT NULL;

ALTER TABLE "assistants" ADD COLUMN "VoicemailMessage" TEXT NULL;
ALTER TABLE "assistants" ADD COLUMN "AutoCallbackMinutes" INTEGER NULL;

CREATE TABLE "do_not_call" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_do_not_call" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Number" TEXT NOT NULL,
    "Source" TEXT NOT NULL,
    "Note" TEXT NULL,
    "CallId" TEXT NULL,
    "AddedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_do_not_call_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_do_not_call_TenantId_Number" ON "do_not_call" ("TenantId", "Number");

CREATE TABLE "outbound_refusals" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_outbound_refusals" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Number" TEXT NOT NULL,
    "Reason" TEXT NOT NULL,
    "Detail" TEXT NULL,
    "NextAllowedAt" INTEGER NULL,
    "Source" TEXT NOT NULL,
    "At" INTEGER NOT NULL,
    CONSTRAINT "FK_outbound_refusals_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_outbound_refusals_TenantId_At" ON "outbound_refusals" ("TenantId", "At");
