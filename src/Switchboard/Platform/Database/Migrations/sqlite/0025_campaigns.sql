-- 0025_campaigns (SQLite): outbound campaigns (issue 11, campaigns). A campaign calls its contacts with one assistant,
-- paced (calls per second) within the plan's concurrent calls, inside each callee's legal window, with retries for
-- busy / no-answer. campaign_contacts holds one row per E.164 number of a campaign (unique), its time zone (from the
-- number), state, attempts, next attempt, last call and result. consents records a callee's consent to be called by
-- the tenant (number, how, when): a promotional campaign calls only numbers that have one.
-- Times are UTC ticks (INTEGER).

CREATE TABLE "campaigns" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_campaigns" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Name" TEXT NOT NULL,
    "AssistantId" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "StartAt" INTEGER NULL,
    "Promotional" INTEGER NOT NULL,
    "MaxAttempts" INTEGER NOT NULL,
    "RetryMinutes" INTEGER NOT NULL,
    "CallsPerSecond" INTEGER NOT NULL,
    "NextDialAt" INTEGER NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    "StartedAt" INTEGER NULL,
    "EndedAt" INTEGER NULL,
    CONSTRAINT "FK_campaigns_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_campaigns_TenantId_CreatedAt" ON "campaigns" ("TenantId", "CreatedAt");
CREATE INDEX "IX_campaigns_Status_StartAt" ON "campaigns" ("Status", "StartAt");

CREATE TABLE "campaign_contacts" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_campaign_contacts" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "CampaignId" TEXT NOT NULL,
    "Ordinal" INTEGER NOT NULL,
    "Number" TEXT NOT NULL,
    "Name" TEXT NULL,
    "VariablesJson" TEXT NULL,
    "TimeZone" TEXT NOT NULL,
    "State" TEXT NOT NULL,
    "Attempts" INTEGER NOT NULL,
    "NextAttemptAt" INTEGER NOT NULL,
    "LastCallId" TEXT NULL,
    "Result" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_campaign_contacts_campaigns_CampaignId" FOREIGN KEY ("CampaignId") REFERENCES "campaigns" ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_campaign_contacts_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_campaign_contacts_CampaignId" ON "campaign_contacts" ("CampaignId");
CREATE UNIQUE INDEX "IX_campaign_contacts_TenantId_CampaignId_Number" ON "campaign_contacts" ("TenantId", "CampaignId", "Number");
CREATE INDEX "IX_campaign_contacts_TenantId_CampaignId_Ordinal" ON "campaign_contacts" ("TenantId", "CampaignId", "Ordinal");
CREATE INDEX "IX_campaign_contacts_TenantId_CampaignId_State_NextAttemptAt" ON "campaign_contacts" ("TenantId", "CampaignId", "State", "NextAttemptAt");
CREATE INDEX "IX_campaign_contacts_TenantId_LastCallId" ON "campaign_contacts" ("TenantId", "LastCallId");

CREATE TABLE "consents" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_consents" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Number" TEXT NOT NULL,
    "Source" TEXT NOT NULL,
    "ObtainedAt" INTEGER NOT NULL,
    "RecordedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_consents_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_consents_TenantId_Number" ON "consents" ("TenantId", "Number");
