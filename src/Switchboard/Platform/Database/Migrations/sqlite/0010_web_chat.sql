-- 0010_web_chat (SQLite): web chat conversations started from the widget (attribution, offline receptionist state),
-- the widget's per-tenant settings, and lead qualification (score, answers). Times are UTC ticks (INTEGER).

CREATE TABLE "web_conversations" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_web_conversations" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "CallId" TEXT NOT NULL,
    "VisitorId" TEXT NOT NULL,
    "Origin" TEXT NOT NULL,
    "PageUrl" TEXT NULL,
    "Referrer" TEXT NULL,
    "UtmSource" TEXT NULL,
    "UtmMedium" TEXT NULL,
    "UtmCampaign" TEXT NULL,
    "UtmTerm" TEXT NULL,
    "UtmContent" TEXT NULL,
    "Gclid" TEXT NULL,
    "Fbclid" TEXT NULL,
    "Language" TEXT NOT NULL,
    "Brain" TEXT NOT NULL,
    "StateJson" TEXT NULL,
    "MessageCount" INTEGER NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "LastMessageAt" INTEGER NOT NULL,
    "EndedAt" INTEGER NULL,
    CONSTRAINT "FK_web_conversations_calls_CallId" FOREIGN KEY ("CallId") REFERENCES "calls" ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_web_conversations_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_web_conversations_CallId" ON "web_conversations" ("CallId");
CREATE INDEX "IX_web_conversations_EndedAt_LastMessageAt" ON "web_conversations" ("EndedAt", "LastMessageAt");
CREATE UNIQUE INDEX "IX_web_conversations_TenantId_CallId" ON "web_conversations" ("TenantId", "CallId");
CREATE INDEX "IX_web_conversations_TenantId_CreatedAt" ON "web_conversations" ("TenantId", "CreatedAt");

CREATE TABLE "widget_settings" (
    "TenantId" TEXT NOT NULL CONSTRAINT "PK_widget_settings" PRIMARY KEY,
    "AccentColor" TEXT NULL,
    "Position" TEXT NOT NULL,
    "Title" TEXT NULL,
    "Greeting" TEXT NULL,
    "AvatarUrl" TEXT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_widget_settings_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

ALTER TABLE "leads" ADD COLUMN "Score" INTEGER NULL;
ALTER TABLE "leads" ADD COLUMN "QualificationJson" TEXT NULL;
