-- 0024_billing_suspension (SQLite): Stripe billing (issue 10). tenant_accounts.SuspendedAt records that the end of a
-- past_due tenant's grace period was announced (audit entry and billing.plan_changed webhook event, once per grace
-- period); the billing sweep looks for accounts whose grace has ended and that are not yet marked. Times are UTC ticks.

ALTER TABLE "tenant_accounts" ADD COLUMN "SuspendedAt" INTEGER NULL;
