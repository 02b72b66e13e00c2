-- 0025_campaigns (PostgreSQL): outbound campaigns (issue 11, campaigns). A campaign calls its contacts with one
-- assistant, paced (calls per second) within the plan's concurrent calls, inside each callee's legal window, with
-- retries for busy / no-answer. campaign_contacts holds one row per E.164 number of a campaign (unique), its time zone
-- (from the number), state, attempts, next attempt, last call and result. consents records a callee's consent to be
-- called by the tenant (number, how, when): a promotional campaign calls only numbers that have one.

CREATE TABLE campaigns (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Name" character varying(100) NOT NULL,
    "AssistantId" uuid NOT NULL,
    "Status" character varying(16) NOT NULL,
    "StartAt" timestamp with time zone,
    "Promotional" boolean NOT NULL,
    "MaxAttempts" integer NOT NULL,
    "RetryMinutes" integer NOT NULL,
    "CallsPerSecond" integer NOT NULL,
    "NextDialAt" timestamp with time zone,
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    "StartedAt" timestamp with time zone,
    "EndedAt" timestamp with time zone,
    CONSTRAINT "PK_campaigns" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_campaigns_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_campaigns_TenantId_CreatedAt" ON campaigns ("TenantId", "CreatedAt");
CREATE INDEX "IX_campaigns_Status_StartAt" ON campaigns ("Status", "StartAt");

CREATE TABLE campaign_contacts (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "CampaignId" uuid NOT NULL,
    "Ordinal" integer NOT NULL,
    "Number" character varying(32) NOT NULL,
    "Name" character varying(200),
    "VariablesJson" text,
    "TimeZone" character varying(64) NOT NULL,
    "State" character varying(16) NOT NULL,
    "Attempts" integer NOT NULL,
    "NextAttemptAt" timestamp with time zone NOT NULL,
    "LastCallId" uuid,
    "Result" character varying(32),
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_campaign_contacts" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_campaign_contacts_campaigns_CampaignId" FOREIGN KEY ("CampaignId") REFERENCES campaigns ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_campaign_contacts_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_campaign_contacts_CampaignId" ON campaign_contacts ("CampaignId");
CREATE UNIQUE INDEX "IX_campaign_contacts_TenantId_CampaignId_Number" ON campaign_contacts ("TenantId", "CampaignId", "Number");
CREATE INDEX "IX_campaign_contacts_TenantId_CampaignId_Ordinal" ON campaign_contacts ("TenantId", "CampaignId", "Ordinal");
CREATE INDEX "IX_campaign_contacts_TenantId_CampaignId_State_NextAttemptAt" ON campaign_contacts ("TenantId", "CampaignId", "State", "NextAttemptAt");
CREATE INDEX "IX_campaign_contacts_TenantId_LastCallId" ON campaign_contacts ("TenantId", "LastCallId");

CREATE TABLE consents (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Number" character varying(32) NOT NULL,
    "Source" character varying(500) NOT NULL,
    "ObtainedAt" timestamp with time zone NOT NULL,
    "RecordedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_consents" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_consents_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_consents_TenantId_Number" ON consents ("TenantId", "Number");
