-- 0001_initial (SQLite): tenants, API keys, assistants, calls, call events, transcript turns, leads, SMS, outbox.
-- Written by hand from the EF model (`switchboard schema-script` prints the model's DDL); times are UTC ticks (INTEGER).
CREATE TABLE "tenants" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_tenants" PRIMARY KEY,
    "Name" TEXT NOT NULL,
    "TimeZone" TEXT NOT NULL,
    "Locale" TEXT NOT NULL,
    "BusinessHours" TEXT NOT NULL,
    "AlertPolicy" TEXT NOT NULL,
    "UrgencyRules" TEXT NOT NULL,
    "VapiWebhookSecretProtected" TEXT NOT NULL,
    "VapiSignatureHeader" TEXT NOT NULL,
    "VapiTimestampHeader" TEXT NULL,
    "TwilioAccountSid" TEXT NULL,
    "TwilioAuthTokenProtected" TEXT NULL,
    "TwilioFromNumber" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL
);


CREATE TABLE "api_keys" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_api_keys" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Name" TEXT NOT NULL,
    "Prefix" TEXT NOT NULL,
    "Hash" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "RevokedAt" INTEGER NULL,
    "LastUsedAt" INTEGER NULL,
    CONSTRAINT "FK_api_keys_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);


CREATE TABLE "assistants" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_assistants" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Name" TEXT NOT NULL,
    "Languages" TEXT NOT NULL,
    "Provider" TEXT NOT NULL,
    "VapiAssistantId" TEXT NULL,
    "FirstMessage" TEXT NULL,
    "Instructions" TEXT NULL,
    "AlertPolicy" TEXT NULL,
    "IsDefault" INTEGER NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_assistants_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);


CREATE TABLE "call_events" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_call_events" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "CallId" TEXT NULL,
    "Provider" TEXT NOT NULL,
    "Type" TEXT NOT NULL,
    "IdempotencyKey" TEXT NOT NULL,
    "PayloadJson" TEXT NOT NULL,
    "ProviderTimestamp" INTEGER NULL,
    "ReceivedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_call_events_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);


CREATE TABLE "calls" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_calls" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Channel" TEXT NOT NULL,
    "Provider" TEXT NOT NULL,
    "ProviderCallId" TEXT NOT NULL,
    "CallSid" TEXT NULL,
    "Type" TEXT NULL,
    "Status" TEXT NOT NULL,
    "CustomerNumber" TEXT NULL,
    "BusinessNumber" TEXT NULL,
    "StartedAt" INTEGER NULL,
    "EndedAt" INTEGER NULL,
    "DurationSeconds" REAL NULL,
    "EndedReason" TEXT NULL,
    "Cost" REAL NULL,
    "RecordingUrl" TEXT NULL,
    "StereoRecordingUrl" TEXT NULL,
    "Summary" TEXT NULL,
    "StructuredDataJson" TEXT NULL,
    "SuccessEvaluation" TEXT NULL,
    "TranscriptText" TEXT NULL,
    "TranscriptFinal" INTEGER NOT NULL,
    "Analyzed" INTEGER NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_calls_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);


CREATE TABLE "leads" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_leads" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "CallId" TEXT NOT NULL,
    "Name" TEXT NULL,
    "Phone" TEXT NULL,
    "Address" TEXT NULL,
    "Problem" TEXT NULL,
    "Urgency" TEXT NOT NULL,
    "Source" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_leads_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);


CREATE TABLE "outbox" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_outbox" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Kind" TEXT NOT NULL,
    "DedupeKey" TEXT NOT NULL,
    "PayloadJson" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "Attempts" INTEGER NOT NULL,
    "NextAttemptAt" INTEGER NOT NULL,
    "LockedUntil" INTEGER NULL,
    "LockedBy" TEXT NULL,
    "LastError" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "CompletedAt" INTEGER NULL,
    CONSTRAINT "FK_outbox_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);


CREATE TABLE "sms_messages" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_sms_messages" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "CallId" TEXT NULL,
    "LeadId" TEXT NULL,
    "Direction" TEXT NOT NULL,
    "Purpose" TEXT NOT NULL,
    "To" TEXT NOT NULL,
    "From" TEXT NULL,
    "Body" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "MessageSid" TEXT NULL,
    "ErrorCode" TEXT NULL,
    "ErrorMessage" TEXT NULL,
    "Attempts" INTEGER NOT NULL,
    "IdempotencyKey" TEXT NOT NULL,
    "SendAfter" INTEGER NULL,
    "CreatedAt" INTEGER NOT NULL,
    "SentAt" INTEGER NULL,
    CONSTRAINT "FK_sms_messages_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);


CREATE TABLE "transcript_turns" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_transcript_turns" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "CallId" TEXT NOT NULL,
    "Seq" INTEGER NOT NULL,
    "Role" TEXT NOT NULL,
    "Text" TEXT NOT NULL,
    "SecondsFromStart" REAL NULL,
    "At" INTEGER NULL,
    CONSTRAINT "FK_transcript_turns_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);


CREATE UNIQUE INDEX "IX_api_keys_Hash" ON "api_keys" ("Hash");


CREATE INDEX "IX_api_keys_TenantId_CreatedAt" ON "api_keys" ("TenantId", "CreatedAt");


CREATE INDEX "IX_assistants_TenantId_Name" ON "assistants" ("TenantId", "Name");


CREATE INDEX "IX_call_events_TenantId_CallId" ON "call_events" ("TenantId", "CallId");


CREATE UNIQUE INDEX "IX_call_events_TenantId_IdempotencyKey" ON "call_events" ("TenantId", "IdempotencyKey");


CREATE INDEX "IX_calls_TenantId_CreatedAt" ON "calls" ("TenantId", "CreatedAt");


CREATE INDEX "IX_calls_TenantId_CustomerNumber" ON "calls" ("TenantId", "CustomerNumber");


CREATE UNIQUE INDEX "IX_calls_TenantId_Provider_ProviderCallId" ON "calls" ("TenantId", "Provider", "ProviderCallId");


CREATE UNIQUE INDEX "IX_leads_TenantId_CallId" ON "leads" ("TenantId", "CallId");


CREATE INDEX "IX_leads_TenantId_Phone" ON "leads" ("TenantId", "Phone");


CREATE INDEX "IX_leads_TenantId_Urgency_CreatedAt" ON "leads" ("TenantId", "Urgency", "CreatedAt");


CREATE UNIQUE INDEX "IX_outbox_Kind_DedupeKey" ON "outbox" ("Kind", "DedupeKey");


CREATE INDEX "IX_outbox_Status_NextAttemptAt" ON "outbox" ("Status", "NextAttemptAt");


CREATE INDEX "IX_outbox_TenantId_CreatedAt" ON "outbox" ("TenantId", "CreatedAt");


CREATE INDEX "IX_sms_messages_TenantId_CallId" ON "sms_messages" ("TenantId", "CallId");


CREATE INDEX "IX_sms_messages_TenantId_CreatedAt" ON "sms_messages" ("TenantId", "CreatedAt");


CREATE UNIQUE INDEX "IX_sms_messages_TenantId_IdempotencyKey" ON "sms_messages" ("TenantId", "IdempotencyKey");


CREATE INDEX "IX_sms_messages_TenantId_To" ON "sms_messages" ("TenantId", "To");


CREATE UNIQUE INDEX "IX_transcript_turns_TenantId_CallId_Seq" ON "transcript_turns" ("TenantId", "CallId", "Seq");



