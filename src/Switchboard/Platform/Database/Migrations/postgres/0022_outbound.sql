-- 0022_outbound (PostgreSQL): outbound calls (issue 11 part A). A call knows its direction (inbound by default), the
-- context variables an outbound call was placed with (JSON) and what answered it (Twilio AnsweredBy). An assistant may
-- carry its own voicemail message and an automatic callback delay (minutes; null = off). do_not_call is a tenant's internal do-not-call list (one row per E.164 number, with
-- when and how it was added: api, csv, callee-request); outbound_refusals records every outbound call Switchboard
-- refused to place and why (dnc, calling window, invalid number), with the next allowed time when there is one.

ALTER TABLE calls ADD COLUMN "Direction" character varying(16) NOT NULL DEFAULT 'inbound';
ALTER TABLE calls ADD COLUMN "OutboundContextJson" text;
ALTER TABLE calls ADD COLUMN "AnsweredBy" character varying(32);

ALTER TABLE assistants ADD COLUMN "VoicemailMessage" character varying(1000);
ALTER TABLE assistants ADD COLUMN "AutoCallbackMinutes" integer;

CREATE TABLE do_not_call (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Number" character varying(32) NOT NULL,
    "Source" character varying(32) NOT NULL,
    "Note" character varying(500),
    "CallId" uuid,
    "AddedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_do_not_call" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_do_not_call_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_do_not_call_TenantId_Number" ON do_not_call ("TenantId", "Number");

CREATE TABLE outbound_refusals (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Number" character varying(64) NOT NULL,
    "Reason" character varying(32) NOT NULL,
    "Detail" character varying(500),
    "NextAllowedAt" timestamp with time zone,
    "Source" character varying(32) NOT NULL,
    "At" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_outbound_refusals" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_outbound_refusals_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_outbound_refusals_TenantId_At" ON outbound_refusals ("TenantId", "At");
