-- 0003_voice (PostgreSQL): native voice over Twilio Media Streams. Tenant voice settings (after-hours and over-limit
-- behaviour, call-length limit, realtime provider), the assistant's realtime model
-- and voice, per-call language and greeting latency, per-turn latencies, and Twilio recordings.
ALTER TABLE tenants ADD COLUMN "VoiceAfterHours" character varying(16) NOT NULL DEFAULT 'answer';
ALTER TABLE tenants ADD COLUMN "VoiceOverLimit" character varying(16) NOT NULL DEFAULT 'message';
ALTER TABLE tenants ADD COLUMN "VoiceMaxCallSeconds" integer NOT NULL DEFAULT 900;
ALTER TABLE tenants ADD COLUMN "RealtimeBaseUrl" character varying(500);
ALTER TABLE tenants ADD COLUMN "RealtimeApiKeyProtected" text;

ALTER TABLE assistants ADD COLUMN "RealtimeModel" character varying(100);
ALTER TABLE assistants ADD COLUMN "RealtimeVoice" character varying(64);

ALTER TABLE calls ADD COLUMN "AssistantId" uuid;
ALTER TABLE calls ADD COLUMN "Language" character varying(16);
ALTER TABLE calls ADD COLUMN "GreetingLatencyMs" double precision;

ALTER TABLE transcript_turns ADD COLUMN "ProviderLatencyMs" double precision;
ALTER TABLE transcript_turns ADD COLUMN "BridgeLatencyMs" double precision;

CREATE TABLE call_recordings (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "CallId" uuid,
    "RecordingSid" character varying(64) NOT NULL,
    "CallSid" character varying(64),
    "Status" character varying(16) NOT NULL,
    "Url" character varying(500),
    "DurationSeconds" integer,
    "Channels" integer,
    "Source" character varying(64),
    "Track" character varying(16),
    "ErrorCode" character varying(32),
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_call_recordings" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_call_recordings_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_call_recordings_TenantId_CallId" ON call_recordings ("TenantId", "CallId");

CREATE UNIQUE INDEX "IX_call_recordings_TenantId_RecordingSid" ON call_recordings ("TenantId", "RecordingSid");
