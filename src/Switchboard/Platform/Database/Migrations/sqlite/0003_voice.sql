-- 0003_voice (SQLite): native voice over Twilio Media Streams. Tenant voice settings (after-hours and over-limit
-- behaviour, call-length limit, realtime provider), the assistant's realtime model
-- and voice, per-call language and greeting latency, per-turn latencies, and Twilio recordings.
ALTER TABLE "tenants" ADD COLUMN "VoiceAfterHours" TEXT NOT NULL DEFAULT 'answer';
ALTER TABLE "tenants" ADD COLUMN "VoiceOverLimit" TEXT NOT NULL DEFAULT 'message';
ALTER TABLE "tenants" ADD COLUMN "VoiceMaxCallSeconds" INTEGER NOT NULL DEFAULT 900;
ALTER TABLE "tenants" ADD COLUMN "RealtimeBaseUrl" TEXT NULL;
ALTER TABLE "tenants" ADD COLUMN "RealtimeApiKeyProtected" TEXT NULL;

ALTER TABLE "assistants" ADD COLUMN "RealtimeModel" TEXT NULL;
ALTER TABLE "assistants" ADD COLUMN "RealtimeVoice" TEXT NULL;

ALTER TABLE "calls" ADD COLUMN "AssistantId" TEXT NULL;
ALTER TABLE "calls" ADD COLUMN "Language" TEXT NULL;
ALTER TABLE "calls" ADD COLUMN "GreetingLatencyMs" REAL NULL;

ALTER TABLE "transcript_turns" ADD COLUMN "ProviderLatencyMs" REAL NULL;
ALTER TABLE "transcript_turns" ADD COLUMN "BridgeLatencyMs" REAL NULL;

CREATE TABLE "call_recordings" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_call_recordings" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "CallId" TEXT NULL,
    "RecordingSid" TEXT NOT NULL,
    "CallSid" TEXT NULL,
    "Status" TEXT NOT NULL,
    "Url" TEXT NULL,
    "DurationSeconds" INTEGER NULL,
    "Channels" INTEGER NULL,
    "Source" TEXT NULL,
    "Track" TEXT NULL,
    "ErrorCode" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_call_recordings_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_call_recordings_TenantId_CallId" ON "call_recordings" ("TenantId", "CallId");

CREATE UNIQUE INDEX "IX_call_recordings_TenantId_RecordingSid" ON "call_recordings" ("TenantId", "RecordingSid");
