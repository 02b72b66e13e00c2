-- 0021_stripe_billing (SQLite): Stripe billing (issue 10). Each tenant account links to its Stripe customer and
-- subscription, keeps the subscription status and the time of the state it was last set from (events are applied in the
-- order of their object's state, not of arrival), and when a past_due grace period ends. Usage records remember when
-- Stripe accepted their meter event. stripe_events stores each webhook event once (by event id); billing_catalog maps
-- plans to Stripe products, prices, meters and the webhook endpoint (written by `switchboard stripe-setup`);
-- billing_drift keeps the reconciliation's findings. Times are UTC ticks (INTEGER).

ALTER TABLE "tenant_accounts" ADD COLUMN "StripeCustomerId" TEXT NULL;
ALTER TABLE "tenant_accounts" ADD COLUMN "StripeSubscriptionId" TEXT NULL;
ALTER TABLE "tenant_accounts" ADD COLUMN "SubscriptionStatus" TEXT NULL;
ALTER TABLE "tenant_accounts" ADD COLUMN "SubscriptionStateAt" INTEGER NULL;
ALTER TABLE "tenant_accounts" ADD COLUMN "GraceEndsAt" INTEGER NULL;
CREATE UNIQUE INDEX "IX_tenant_accounts_StripeCustomerId" ON "tenant_accounts" ("StripeCustomerId");

ALTER TABLE "usage_records" ADD COLUMN "ReportedAt" INTEGER NULL;

CREATE TABLE "stripe_events" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_stripe_events" PRIMARY KEY,
    "Type" TEXT NOT NULL,
    "Created" INTEGER NOT NULL,
    "TenantId" TEXT NULL,
    "ObjectId" TEXT NULL,
    "Outcome" TEXT NOT NULL,
    "ReceivedAt" INTEGER NOT NULL
);

CREATE INDEX "IX_stripe_events_TenantId_Created" ON "stripe_events" ("TenantId", "Created");

CREATE TABLE "billing_catalog" (
    "Key" TEXT NOT NULL CONSTRAINT "PK_billing_catalog" PRIMARY KEY,
    "StripeId" TEXT NOT NULL,
    "UpdatedAt" INTEGER NOT NULL
);

CREATE TABLE "billing_drift" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_billing_drift" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Period" TEXT NOT NULL,
    "Kind" TEXT NOT NULL,
    "Local" REAL NOT NULL,
    "Reported" REAL NOT NULL,
    "CheckedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_billing_drift_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_billing_drift_CheckedAt" ON "billing_drift" ("CheckedAt");
CREATE INDEX "IX_billing_drift_TenantId" ON "billing_drift" ("TenantId");
