-- 0002_webhooks (SQLite): tenant webhook endpoints, events (one per fact), deliveries (event x endpoint) and attempts.
-- Written by hand from the EF model (`switchboard schema-script`); times are UTC ticks (INTEGER).
CREATE TABLE "webhook_endpoints" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_webhook_endpoints" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Url" TEXT NOT NULL,
    "Description" TEXT NULL,
    "EventTypes" TEXT NOT NULL,
    "Enabled" INTEGER NOT NULL,
    "DisabledReason" TEXT NULL,
    "DisabledAt" INTEGER NULL,
    "HeadersProtected" TEXT NULL,
    "SecretProtected" TEXT NOT NULL,
    "PreviousSecretProtected" TEXT NULL,
    "PreviousSecretExpiresAt" INTEGER NULL,
    "FailingSince" INTEGER NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_webhook_endpoints_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "webhook_events" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_webhook_events" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "MessageId" TEXT NOT NULL,
    "Type" TEXT NOT NULL,
    "PayloadJson" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_webhook_events_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "webhook_deliveries" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_webhook_deliveries" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "EndpointId" TEXT NOT NULL,
    "EventId" TEXT NOT NULL,
    "EventType" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "Attempts" INTEGER NOT NULL,
    "ScheduleAttempts" INTEGER NOT NULL,
    "Replays" INTEGER NOT NULL,
    "IsTest" INTEGER NOT NULL,
    "LastStatusCode" INTEGER NULL,
    "LastLatencyMs" INTEGER NULL,
    "LastError" TEXT NULL,
    "LastAttemptAt" INTEGER NULL,
    "NextAttemptAt" INTEGER NULL,
    "CreatedAt" INTEGER NOT NULL,
    "CompletedAt" INTEGER NULL,
    CONSTRAINT "FK_webhook_deliveries_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "webhook_attempts" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_webhook_attempts" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "EndpointId" TEXT NOT NULL,
    "DeliveryId" TEXT NOT NULL,
    "Number" INTEGER NOT NULL,
    "At" INTEGER NOT NULL,
    "StatusCode" INTEGER NULL,
    "LatencyMs" INTEGER NOT NULL,
    "Succeeded" INTEGER NOT NULL,
    "Error" TEXT NULL,
    "ResponseExcerpt" TEXT NULL,
    CONSTRAINT "FK_webhook_attempts_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_webhook_attempts_TenantId_DeliveryId_Number" ON "webhook_attempts" ("TenantId", "DeliveryId", "Number");
CREATE INDEX "IX_webhook_attempts_TenantId_EndpointId_At" ON "webhook_attempts" ("TenantId", "EndpointId", "At");
CREATE INDEX "IX_webhook_deliveries_TenantId_EndpointId_CreatedAt" ON "webhook_deliveries" ("TenantId", "EndpointId", "CreatedAt");
CREATE INDEX "IX_webhook_deliveries_TenantId_EndpointId_Status_CreatedAt" ON "webhook_deliveries" ("TenantId", "EndpointId", "Status", "CreatedAt");
CREATE UNIQUE INDEX "IX_webhook_deliveries_TenantId_EventId_EndpointId" ON "webhook_deliveries" ("TenantId", "EventId", "EndpointId");
CREATE INDEX "IX_webhook_endpoints_TenantId_CreatedAt" ON "webhook_endpoints" ("TenantId", "CreatedAt");
CREATE INDEX "IX_webhook_events_TenantId_CreatedAt" ON "webhook_events" ("TenantId", "CreatedAt");
CREATE UNIQUE INDEX "IX_webhook_events_TenantId_MessageId" ON "webhook_events" ("TenantId", "MessageId");
