-- 0038_idempotency_keys (SQLite): Idempotency-Key on /api/v1 POSTs (IdempotencyMiddleware). One row per (tenant, caller,
-- key): the request's SHA-256, and once it succeeded its status and body, replayed to a retry of the same request for
-- 24 hours (docs.stripe.com/api/idempotent_requests); "Status" NULL while the first request runs. The retention pass
-- deletes rows older than 24 hours.

CREATE TABLE "idempotency_keys" (
    "TenantId" TEXT NOT NULL,
    "Principal" TEXT NOT NULL,
    "Key" TEXT NOT NULL,
    "RequestHash" TEXT NOT NULL,
    "Status" INTEGER NULL,
    "ContentType" TEXT NULL,
    "Location" TEXT NULL,
    "Body" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    CONSTRAINT "PK_idempotency_keys" PRIMARY KEY ("TenantId", "Principal", "Key"),
    CONSTRAINT "FK_idempotency_keys_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);
