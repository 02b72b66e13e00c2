-- 0004_selfservice (PostgreSQL): accounts (users, memberships, sessions, invitations), tenant accounts (plan, status,
-- profile, origins, retention), onboarding and studio config, provider credentials, phone numbers, usage metering,
-- the hash-chained audit log; new columns on api_keys (Kind, ExpiresAt) and assistants (voice, model, tools,
-- recording, sync state). Written by hand from `switchboard schema-script`.

CREATE TABLE audit_log (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Seq" bigint NOT NULL,
    "At" timestamp with time zone NOT NULL,
    "ActorType" character varying(16) NOT NULL,
    "ActorId" character varying(100),
    "Action" character varying(64) NOT NULL,
    "Target" character varying(300),
    "Ip" character varying(64),
    "DetailsJson" text,
    "PrevHash" character varying(64) NOT NULL,
    "Hash" character varying(64) NOT NULL,
    CONSTRAINT "PK_audit_log" PRIMARY KEY ("Id")
);

CREATE TABLE users (
    "Id" uuid NOT NULL,
    "Email" character varying(254) NOT NULL,
    "PasswordHash" character varying(200) NOT NULL,
    "FullName" character varying(200),
    "FailedLogins" integer NOT NULL,
    "LockedUntil" timestamp with time zone,
    "CreatedAt" timestamp with time zone NOT NULL,
    "LastLoginAt" timestamp with time zone,
    "IsOperator" boolean NOT NULL,
    CONSTRAINT "PK_users" PRIMARY KEY ("Id")
);

CREATE TABLE invitations (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Email" character varying(254) NOT NULL,
    "Role" character varying(16) NOT NULL,
    "TokenHash" character varying(64) NOT NULL,
    "InvitedByUserId" uuid,
    "CreatedAt" timestamp with time zone NOT NULL,
    "ExpiresAt" timestamp with time zone NOT NULL,
    "AcceptedAt" timestamp with time zone,
    "RevokedAt" timestamp with time zone,
    CONSTRAINT "PK_invitations" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_invitations_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE onboarding_states (
    "TenantId" uuid NOT NULL,
    "CurrentStep" character varying(32) NOT NULL,
    "Skipped" text NOT NULL,
    "CompletedAt" timestamp with time zone,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_onboarding_states" PRIMARY KEY ("TenantId"),
    CONSTRAINT "FK_onboarding_states_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE phone_numbers (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Number" character varying(32) NOT NULL,
    "Mode" character varying(16) NOT NULL,
    "AssistantId" uuid,
    "TwilioSid" character varying(64),
    "VapiPhoneNumberId" character varying(100),
    "BusinessHours" text,
    "AfterHours" text NOT NULL,
    "Status" character varying(32) NOT NULL,
    "LastError" character varying(1000),
    "Version" integer NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_phone_numbers" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_phone_numbers_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE provider_credentials (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Provider" character varying(16) NOT NULL,
    "SecretProtected" text,
    "Preview" character varying(32) NOT NULL,
    "PublicValue" character varying(500),
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    "CheckedAt" timestamp with time zone,
    "CheckOk" boolean,
    "CheckMessage" character varying(500),
    CONSTRAINT "PK_provider_credentials" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_provider_credentials_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE studio_configs (
    "TenantId" uuid NOT NULL,
    "Persona" character varying(2000),
    "JobToBeDone" character varying(2000),
    "Languages" text NOT NULL,
    "Tone" character varying(100),
    "Guidelines" character varying(8000),
    "FallbackEmail" character varying(254),
    "Integrations" text NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_studio_configs" PRIMARY KEY ("TenantId"),
    CONSTRAINT "FK_studio_configs_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE tenant_accounts (
    "TenantId" uuid NOT NULL,
    "PlanId" character varying(32) NOT NULL,
    "PlanChangedAt" timestamp with time zone,
    "Status" character varying(16) NOT NULL,
    "Industry" character varying(100),
    "MarketingOptIn" boolean NOT NULL,
    "TermsVersion" character varying(32),
    "TermsAcceptedAt" timestamp with time zone,
    "VoiceProvider" character varying(16),
    "AllowedOrigins" text NOT NULL,
    "RecordingRetentionDays" integer,
    "TranscriptRetentionDays" integer,
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_tenant_accounts" PRIMARY KEY ("TenantId"),
    CONSTRAINT "FK_tenant_accounts_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE usage_records (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Kind" character varying(32) NOT NULL,
    "Quantity" double precision NOT NULL,
    "SourceId" character varying(100) NOT NULL,
    "Period" character varying(7) NOT NULL,
    "OccurredAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_usage_records" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_usage_records_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE memberships (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "UserId" uuid NOT NULL,
    "Role" character varying(16) NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_memberships" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_memberships_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_memberships_users_UserId" FOREIGN KEY ("UserId") REFERENCES users ("Id") ON DELETE CASCADE
);

CREATE TABLE user_sessions (
    "Id" uuid NOT NULL,
    "UserId" uuid NOT NULL,
    "TenantId" uuid,
    "CreatedAt" timestamp with time zone NOT NULL,
    "ExpiresAt" timestamp with time zone NOT NULL,
    "RevokedAt" timestamp with time zone,
    "Ip" character varying(64),
    "UserAgent" character varying(300),
    CONSTRAINT "PK_user_sessions" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_user_sessions_users_UserId" FOREIGN KEY ("UserId") REFERENCES users ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_audit_log_TenantId_At" ON audit_log ("TenantId", "At");

CREATE UNIQUE INDEX "IX_audit_log_TenantId_Seq" ON audit_log ("TenantId", "Seq");

CREATE INDEX "IX_invitations_TenantId_Email" ON invitations ("TenantId", "Email");

CREATE UNIQUE INDEX "IX_invitations_TokenHash" ON invitations ("TokenHash");

CREATE UNIQUE INDEX "IX_memberships_TenantId_UserId" ON memberships ("TenantId", "UserId");

CREATE INDEX "IX_memberships_UserId" ON memberships ("UserId");

CREATE UNIQUE INDEX "IX_phone_numbers_Number" ON phone_numbers ("Number");

CREATE INDEX "IX_phone_numbers_TenantId_CreatedAt" ON phone_numbers ("TenantId", "CreatedAt");

CREATE UNIQUE INDEX "IX_provider_credentials_TenantId_Provider" ON provider_credentials ("TenantId", "Provider");

CREATE UNIQUE INDEX "IX_usage_records_TenantId_Kind_SourceId" ON usage_records ("TenantId", "Kind", "SourceId");

CREATE INDEX "IX_usage_records_TenantId_Period_Kind" ON usage_records ("TenantId", "Period", "Kind");

CREATE INDEX "IX_user_sessions_UserId" ON user_sessions ("UserId");

CREATE UNIQUE INDEX "IX_users_Email" ON users ("Email");

ALTER TABLE api_keys ADD "Kind" character varying(16) NOT NULL DEFAULT 'secret';
ALTER TABLE api_keys ADD "ExpiresAt" timestamp with time zone;
ALTER TABLE assistants ADD "Voice" text;
ALTER TABLE assistants ADD "Model" text;
ALTER TABLE assistants ADD "Tools" text;
ALTER TABLE assistants ADD "RecordingEnabled" boolean NOT NULL DEFAULT FALSE;
ALTER TABLE assistants ADD "Version" integer NOT NULL DEFAULT 0;
ALTER TABLE assistants ADD "SyncStatus" character varying(32);
ALTER TABLE assistants ADD "SyncError" character varying(1000);
ALTER TABLE assistants ADD "SyncedAt" timestamp with time zone;
ALTER TABLE assistants ADD "UpdatedAt" timestamp with time zone;
