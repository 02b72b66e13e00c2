-- 0021_stripe_billing (PostgreSQL): Stripe billing (issue 10). Each tenant account links to its Stripe customer and
-- subscription, keeps the subscription status and the time of the state it was last set from (events are applied in the
-- order of their object's state, not of arrival), and when a past_due grace period ends. Usage records remember when
-- Stripe accepted their meter event. stripe_events stores each webhook event once (by event id); billing_catalog maps
-- plans to Stripe products, prices, meters and the webhook endpoint (written by `switchboard stripe-setup`);
-- billing_drift keeps the reconciliation's findings.

ALTER TABLE tenant_accounts ADD COLUMN "StripeCustomerId" character varying(64);
ALTER TABLE tenant_accounts ADD COLUMN "StripeSubscriptionId" character varying(64);
ALTER TABLE tenant_accounts ADD COLUMN "SubscriptionStatus" character varying(32);
ALTER TABLE tenant_accounts ADD COLUMN "SubscriptionStateAt" timestamp with time zone;
ALTER TABLE tenant_accounts ADD COLUMN "GraceEndsAt" timestamp with time zone;
CREATE UNIQUE INDEX "IX_tenant_accounts_StripeCustomerId" ON tenant_accounts ("StripeCustomerId");

ALTER TABLE usage_records ADD COLUMN "ReportedAt" timestamp with time zone;

CREATE TABLE stripe_events (
    "Id" character varying(255) NOT NULL,
    "Type" character varying(100) NOT NULL,
    "Created" timestamp with time zone NOT NULL,
    "TenantId" uuid,
    "ObjectId" character varying(255),
    "Outcome" character varying(200) NOT NULL,
    "ReceivedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_stripe_events" PRIMARY KEY ("Id")
);

CREATE INDEX "IX_stripe_events_TenantId_Created" ON stripe_events ("TenantId", "Created");

CREATE TABLE billing_catalog (
    "Key" character varying(100) NOT NULL,
    "StripeId" character varying(500) NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_billing_catalog" PRIMARY KEY ("Key")
);

CREATE TABLE billing_drift (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Period" character varying(7) NOT NULL,
    "Kind" character varying(32) NOT NULL,
    "Local" double precision NOT NULL,
    "Reported" double precision NOT NULL,
    "CheckedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_billing_drift" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_billing_drift_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_billing_drift_CheckedAt" ON billing_drift ("CheckedAt");
CREATE INDEX "IX_billing_drift_TenantId" ON billing_drift ("TenantId");
