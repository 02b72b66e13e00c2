-- 0038_idempotency_keys (PostgreSQL): Idempotency-Key on /api/v1 POSTs (IdempotencyMiddleware); see the SQLite migration
-- of the same number.

CREATE TABLE idempotency_keys (
    "TenantId" uuid NOT NULL,
    "Principal" character varying(64) NOT NULL,
    "Key" character varying(255) NOT NULL,
    "RequestHash" character varying(64) NOT NULL,
    "Status" integer,
    "ContentType" character varying(200),
    "Location" character varying(2000),
    "Body" text,
    "CreatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_idempotency_keys" PRIMARY KEY ("TenantId", "Principal", "Key"),
    CONSTRAINT "FK_idempotency_keys_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);
