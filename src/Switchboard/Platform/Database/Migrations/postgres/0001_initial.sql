-- 0001_initial (PostgreSQL): tenants, API keys, assistants, calls, call events, transcript turns, leads, SMS, outbox.
-- Written by hand from the EF model (`switchboard schema-script` prints the model's DDL). Every tenant-owned index leads with TenantId.
CREATE TABLE tenants (
    "Id" uuid NOT NULL,
    "Name" character varying(200) NOT NULL,
    "TimeZone" character varying(64) NOT NULL,
    "Locale" character varying(16) NOT NULL,
    "BusinessHours" text NOT NULL,
    "AlertPolicy" text NOT NULL,
    "UrgencyRules" text NOT NULL,
    "VapiWebhookSecretProtected" text NOT NULL,
    "VapiSignatureHeader" character varying(100) NOT NULL,
    "VapiTimestampHeader" character varying(100),
    "TwilioAccountSid" character varying(64),
    "TwilioAuthTokenProtected" text,
    "TwilioFromNumber" character varying(32),
    "CreatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_tenants" PRIMARY KEY ("Id")
);


CREATE TABLE api_keys (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Name" character varying(200) NOT NULL,
    "Prefix" character varying(32) NOT NULL,
    "Hash" character varying(64) NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    "RevokedAt" timestamp with time zone,
    "LastUsedAt" timestamp with time zone,
    CONSTRAINT "PK_api_keys" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_api_keys_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);


CREATE TABLE assistants (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Name" character varying(200) NOT NULL,
    "Languages" text NOT NULL,
    "Provider" character varying(32) NOT NULL,
    "VapiAssistantId" character varying(100),
    "FirstMessage" text,
    "Instructions" text,
    "AlertPolicy" text,
    "IsDefault" boolean NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_assistants" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_assistants_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);


CREATE TABLE call_events (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "CallId" uuid,
    "Provider" character varying(16) NOT NULL,
    "Type" character varying(100) NOT NULL,
    "IdempotencyKey" character varying(128) NOT NULL,
    "PayloadJson" text NOT NULL,
    "ProviderTimestamp" timestamp with time zone,
    "ReceivedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_call_events" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_call_events_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);


CREATE TABLE calls (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Channel" character varying(16) NOT NULL,
    "Provider" character varying(16) NOT NULL,
    "ProviderCallId" character varying(100) NOT NULL,
    "CallSid" character varying(64),
    "Type" character varying(64),
    "Status" character varying(32) NOT NULL,
    "CustomerNumber" character varying(64),
    "BusinessNumber" character varying(64),
    "StartedAt" timestamp with time zone,
    "EndedAt" timestamp with time zone,
    "DurationSeconds" double precision,
    "EndedReason" character varying(200),
    "Cost" numeric(12,4),
    "RecordingUrl" text,
    "StereoRecordingUrl" text,
    "Summary" text,
    "StructuredDataJson" text,
    "SuccessEvaluation" character varying(2000),
    "TranscriptText" text,
    "TranscriptFinal" boolean NOT NULL,
    "Analyzed" boolean NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_calls" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_calls_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);


CREATE TABLE leads (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "CallId" uuid NOT NULL,
    "Name" character varying(200),
    "Phone" character varying(64),
    "Address" character varying(500),
    "Problem" text,
    "Urgency" character varying(16) NOT NULL,
    "Source" character varying(32) NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_leads" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_leads_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);


CREATE TABLE outbox (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Kind" character varying(64) NOT NULL,
    "DedupeKey" character varying(200) NOT NULL,
    "PayloadJson" text NOT NULL,
    "Status" character varying(16) NOT NULL,
    "Attempts" integer NOT NULL,
    "NextAttemptAt" timestamp with time zone NOT NULL,
    "LockedUntil" timestamp with time zone,
    "LockedBy" character varying(100),
    "LastError" character varying(2000),
    "CreatedAt" timestamp with time zone NOT NULL,
    "CompletedAt" timestamp with time zone,
    CONSTRAINT "PK_outbox" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_outbox_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);


CREATE TABLE sms_messages (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "CallId" uuid,
    "LeadId" uuid,
    "Direction" character varying(16) NOT NULL,
    "Purpose" character varying(32) NOT NULL,
    "To" character varying(64) NOT NULL,
    "From" character varying(64),
    "Body" character varying(1600) NOT NULL,
    "Status" character varying(16) NOT NULL,
    "MessageSid" character varying(64),
    "ErrorCode" character varying(32),
    "ErrorMessage" text,
    "Attempts" integer NOT NULL,
    "IdempotencyKey" character varying(200) NOT NULL,
    "SendAfter" timestamp with time zone,
    "CreatedAt" timestamp with time zone NOT NULL,
    "SentAt" timestamp with time zone,
    CONSTRAINT "PK_sms_messages" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_sms_messages_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);


CREATE TABLE transcript_turns (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "CallId" uuid NOT NULL,
    "Seq" integer NOT NULL,
    "Role" character varying(32) NOT NULL,
    "Text" text NOT NULL,
    "SecondsFromStart" double precision,
    "At" timestamp with time zone,
    CONSTRAINT "PK_transcript_turns" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_transcript_turns_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);


CREATE UNIQUE INDEX "IX_api_keys_Hash" ON api_keys ("Hash");


CREATE INDEX "IX_api_keys_TenantId_CreatedAt" ON api_keys ("TenantId", "CreatedAt");


CREATE INDEX "IX_assistants_TenantId_Name" ON assistants ("TenantId", "Name");


CREATE INDEX "IX_call_events_TenantId_CallId" ON call_events ("TenantId", "CallId");


CREATE UNIQUE INDEX "IX_call_events_TenantId_IdempotencyKey" ON call_events ("TenantId", "IdempotencyKey");


CREATE INDEX "IX_calls_TenantId_CreatedAt" ON calls ("TenantId", "CreatedAt");


CREATE INDEX "IX_calls_TenantId_CustomerNumber" ON calls ("TenantId", "CustomerNumber");


CREATE UNIQUE INDEX "IX_calls_TenantId_Provider_ProviderCallId" ON calls ("TenantId", "Provider", "ProviderCallId");


CREATE UNIQUE INDEX "IX_leads_TenantId_CallId" ON leads ("TenantId", "CallId");


CREATE INDEX "IX_leads_TenantId_Phone" ON leads ("TenantId", "Phone");


CREATE INDEX "IX_leads_TenantId_Urgency_CreatedAt" ON leads ("TenantId", "Urgency", "CreatedAt");


CREATE UNIQUE INDEX "IX_outbox_Kind_DedupeKey" ON outbox ("Kind", "DedupeKey");


CREATE INDEX "IX_outbox_Status_NextAttemptAt" ON outbox ("Status", "NextAttemptAt");


CREATE INDEX "IX_outbox_TenantId_CreatedAt" ON outbox ("TenantId", "CreatedAt");


CREATE INDEX "IX_sms_messages_TenantId_CallId" ON sms_messages ("TenantId", "CallId");


CREATE INDEX "IX_sms_messages_TenantId_CreatedAt" ON sms_messages ("TenantId", "CreatedAt");


CREATE UNIQUE INDEX "IX_sms_messages_TenantId_IdempotencyKey" ON sms_messages ("TenantId", "IdempotencyKey");


CREATE INDEX "IX_sms_messages_TenantId_To" ON sms_messages ("TenantId", "To");


CREATE UNIQUE INDEX "IX_transcript_turns_TenantId_CallId_Seq" ON transcript_turns ("TenantId", "CallId", "Seq");



