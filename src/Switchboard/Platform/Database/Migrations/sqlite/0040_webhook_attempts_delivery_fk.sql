-- 0040_webhook_attempts_delivery_fk (SQLite): a delivery attempt belongs to its delivery, and goes with it (see the
-- PostgreSQL migration of the same number: an attempt written while its endpoint was deleted outlived it). SQLite adds a
-- foreign key only by rebuilding the table: the attempts whose delivery still exists are copied into the new one.

CREATE TABLE "webhook_attempts_new" (
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
    CONSTRAINT "FK_webhook_attempts_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_webhook_attempts_webhook_deliveries_DeliveryId" FOREIGN KEY ("DeliveryId") REFERENCES "webhook_deliveries" ("Id") ON DELETE CASCADE
);

INSERT INTO "webhook_attempts_new"
SELECT a."Id", a."TenantId", a."EndpointId", a."DeliveryId", a."Number", a."At", a."StatusCode", a."LatencyMs", a."Succeeded", a."Error", a."ResponseExcerpt"
FROM "webhook_attempts" AS a
WHERE EXISTS (SELECT 1 FROM "webhook_deliveries" AS d WHERE d."Id" = a."DeliveryId");

DROP TABLE "webhook_attempts";
ALTER TABLE "webhook_attempts_new" RENAME TO "webhook_attempts";

CREATE INDEX "IX_webhook_attempts_DeliveryId" ON "webhook_attempts" ("DeliveryId");
CREATE INDEX "IX_webhook_attempts_TenantId_DeliveryId_Number" ON "webhook_attempts" ("TenantId", "DeliveryId", "Number");
CREATE INDEX "IX_webhook_attempts_TenantId_EndpointId_At" ON "webhook_attempts" ("TenantId", "EndpointId", "At");
