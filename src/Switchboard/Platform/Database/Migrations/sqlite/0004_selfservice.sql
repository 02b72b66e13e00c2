-- 0004_selfservice (SQLite): accounts (users, memberships, sessions, invitations), tenant accounts (plan, status,
-- profile, origins, retention), onboarding and studio config, provider credentials, phone numbers, usage metering,
-- the hash-chained audit log; new columns on api_keys (Kind, ExpiresAt) and assistants (voice, model, tools,
-- recording, sync state). Written by hand from `switchboard schema-script`; times are UTC ticks (INTEGER).

CREATE TABLE "audit_log" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_audit_log" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Seq" INTEGER NOT NULL,
    "At" INTEGER NOT NULL,
    "ActorType" TEXT NOT NULL,
    "ActorId" TEXT NULL,
    "Action" TEXT NOT NULL,
    "Target" TEXT NULL,
    "Ip" TEXT NULL,
    "DetailsJson" TEXT NULL,
    "PrevHash" TEXT NOT NULL,
    "Hash" TEXT NOT NULL
);

CREATE TABLE "users" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_users" PRIMARY KEY,
    "Email" TEXT NOT NULL,
    "PasswordHash" TEXT NOT NULL,
    "FullName" TEXT NULL,
    "FailedLogins" INTEGER NOT NULL,
    "LockedUntil" INTEGER NULL,
    "CreatedAt" INTEGER NOT NULL,
    "LastLoginAt" INTEGER NULL,
    "IsOperator" INTEGER NOT NULL
);

CREATE TABLE "invitations" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_invitations" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Email" TEXT NOT NULL,
    "Role" TEXT NOT NULL,
    "TokenHash" TEXT NOT NULL,
    "InvitedByUserId" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "ExpiresAt" INTEGER NOT NULL,
    "AcceptedAt" INTEGER NULL,
    "RevokedAt" INTEGER NULL,
    CONSTRAINT "FK_invitations_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "onboarding_states" (
    "TenantId" TEXT NOT NULL CONSTRAINT "PK_onboarding_states" PRIMARY KEY,
    "CurrentStep" TEXT NOT NULL,
    "Skipped" TEXT NOT NULL,
    "CompletedAt" INTEGER NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_onboarding_states_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "phone_numbers" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_phone_numbers" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Number" TEXT NOT NULL,
    "Mode" TEXT NOT NULL,
    "AssistantId" TEXT NULL,
    "TwilioSid" TEXT NULL,
    "VapiPhoneNumberId" TEXT NULL,
    "BusinessHours" TEXT NULL,
    "AfterHours" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "LastError" TEXT NULL,
    "Version" INTEGER NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_phone_numbers_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "provider_credentials" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_provider_credentials" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Provider" TEXT NOT NULL,
    "SecretProtected" TEXT NULL,
    "Preview" TEXT NOT NULL,
    "PublicValue" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    "CheckedAt" INTEGER NULL,
    "CheckOk" INTEGER NULL,
    "CheckMessage" TEXT NULL,
    CONSTRAINT "FK_provider_credentials_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "studio_configs" (
    "TenantId" TEXT NOT NULL CONSTRAINT "PK_studio_configs" PRIMARY KEY,
    "Persona" TEXT NULL,
    "JobToBeDone" TEXT NULL,
    "Languages" TEXT NOT NULL,
    "Tone" TEXT NULL,
    "Guidelines" TEXT NULL,
    "FallbackEmail" TEXT NULL,
    "Integrations" TEXT NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_studio_configs_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "tenant_accounts" (
    "TenantId" TEXT NOT NULL CONSTRAINT "PK_tenant_accounts" PRIMARY KEY,
    "PlanId" TEXT NOT NULL,
    "PlanChangedAt" INTEGER NULL,
    "Status" TEXT NOT NULL,
    "Industry" TEXT NULL,
    "MarketingOptIn" INTEGER NOT NULL,
    "TermsVersion" TEXT NULL,
    "TermsAcceptedAt" INTEGER NULL,
    "VoiceProvider" TEXT NULL,
    "AllowedOrigins" TEXT NOT NULL,
    "RecordingRetentionDays" INTEGER NULL,
    "TranscriptRetentionDays" INTEGER NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_tenant_accounts_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "usage_records" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_usage_records" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Kind" TEXT NOT NULL,
    "Quantity" REAL NOT NULL,
    "SourceId" TEXT NOT NULL,
    "Period" TEXT NOT NULL,
    "OccurredAt" INTEGER NOT NULL,
    CONSTRAINT "FK_usage_records_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "memberships" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_memberships" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "UserId" TEXT NOT NULL,
    "Role" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_memberships_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_memberships_users_UserId" FOREIGN KEY ("UserId") REFERENCES "users" ("Id") ON DELETE CASCADE
);

CREATE TABLE "user_sessions" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_user_sessions" PRIMARY KEY,
    "UserId" TEXT NOT NULL,
    "TenantId" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "ExpiresAt" INTEGER NOT NULL,
    "RevokedAt" INTEGER NULL,
    "Ip" TEXT NULL,
    "UserAgent" TEXT NULL,
    CONSTRAINT "FK_user_sessions_users_UserId" FOREIGN KEY ("UserId") REFERENCES "users" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_audit_log_TenantId_At" ON "audit_log" ("TenantId", "At");

CREATE UNIQUE INDEX "IX_audit_log_TenantId_Seq" ON "audit_log" ("TenantId", "Seq");

CREATE INDEX "IX_invitations_TenantId_Email" ON "invitations" ("TenantId", "Email");

CREATE UNIQUE INDEX "IX_invitations_TokenHash" ON "invitations" ("TokenHash");

CREATE UNIQUE INDEX "IX_memberships_TenantId_UserId" ON "memberships" ("TenantId", "UserId");

CREATE INDEX "IX_memberships_UserId" ON "memberships" ("UserId");

CREATE UNIQUE INDEX "IX_phone_numbers_Number" ON "phone_numbers" ("Number");

CREATE INDEX "IX_phone_numbers_TenantId_CreatedAt" ON "phone_numbers" ("TenantId", "CreatedAt");

CREATE UNIQUE INDEX "IX_provider_credentials_TenantId_Provider" ON "provider_credentials" ("TenantId", "Provider");

CREATE UNIQUE INDEX "IX_usage_records_TenantId_Kind_SourceId" ON "usage_records" ("TenantId", "Kind", "SourceId");

CREATE INDEX "IX_usage_records_TenantId_Period_Kind" ON "usage_records" ("TenantId", "Period", "Kind");

CREATE INDEX "IX_user_sessions_UserId" ON "user_sessions" ("UserId");

CREATE UNIQUE INDEX "IX_users_Email" ON "users" ("Email");

ALTER TABLE "api_keys" ADD COLUMN "Kind" TEXT NOT NULL DEFAULT 'secret';
ALTER TABLE "api_keys" ADD COLUMN "ExpiresAt" INTEGER NULL;
ALTER TABLE "assistants" ADD COLUMN "Voice" TEXT NULL;
ALTER TABLE "assistants" ADD COLUMN "Model" TEXT NULL;
ALTER TABLE "assistants" ADD COLUMN "Tools" TEXT NULL;
ALTER TABLE "assistants" ADD COLUMN "RecordingEnabled" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "assistants" ADD COLUMN "Version" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "assistants" ADD COLUMN "SyncStatus" TEXT NULL;
ALTER TABLE "assistants" ADD COLUMN "SyncError" TEXT NULL;
ALTER TABLE "assistants" ADD COLUMN "SyncedAt" INTEGER NULL;
ALTER TABLE "assistants" ADD COLUMN "UpdatedAt" INTEGER NULL;
