-- 0010_web_chat (PostgreSQL): web chat conversations started from the widget (attribution, offline receptionist state),
-- the widget's per-tenant settings, and lead qualification (score, answers).

CREATE TABLE web_conversations (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "CallId" uuid NOT NULL,
    "VisitorId" character varying(64) NOT NULL,
    "Origin" character varying(300) NOT NULL,
    "PageUrl" character varying(2048),
    "Referrer" character varying(2048),
    "UtmSource" character varying(200),
    "UtmMedium" character varying(200),
    "UtmCampaign" character varying(200),
    "UtmTerm" character varying(200),
    "UtmContent" character varying(200),
    "Gclid" character varying(200),
    "Fbclid" character varying(200),
    "Language" character varying(8) NOT NULL,
    "Brain" character varying(16) NOT NULL,
    "StateJson" text,
    "MessageCount" integer NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    "LastMessageAt" timestamp with time zone NOT NULL,
    "EndedAt" timestamp with time zone,
    CONSTRAINT "PK_web_conversations" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_web_conversations_calls_CallId" FOREIGN KEY ("CallId") REFERENCES calls ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_web_conversations_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_web_conversations_CallId" ON web_conversations ("CallId");
CREATE INDEX "IX_web_conversations_EndedAt_LastMessageAt" ON web_conversations ("EndedAt", "LastMessageAt");
CREATE UNIQUE INDEX "IX_web_conversations_TenantId_CallId" ON web_conversations ("TenantId", "CallId");
CREATE INDEX "IX_web_conversations_TenantId_CreatedAt" ON web_conversations ("TenantId", "CreatedAt");

CREATE TABLE widget_settings (
    "TenantId" uuid NOT NULL,
    "AccentColor" character varying(7),
    "Position" character varying(8) NOT NULL,
    "Title" character varying(100),
    "Greeting" character varying(500),
    "AvatarUrl" character varying(500),
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_widget_settings" PRIMARY KEY ("TenantId"),
    CONSTRAINT "FK_widget_settings_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

ALTER TABLE leads ADD COLUMN "Score" integer;
ALTER TABLE leads ADD COLUMN "QualificationJson" text;
