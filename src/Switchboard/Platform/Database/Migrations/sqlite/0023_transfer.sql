-- 0023_transfer (SQLite): live transfer (issue 11 part B). Each assistant may offer transfers (off by default) to a list
-- of destinations (JSON: name, E.164 number, weekly hours, description); call_transfers records every transfer made on a
-- call (cold or warm, native or reported by Vapi) with its outcome. Times are UTC ticks (INTEGER).

ALTER TABLE "assistants" ADD COLUMN "TransferEnabled" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "assistants" ADD COLUMN "TransferDestinations" TEXT NULL;

CREATE TABLE "call_transfers" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_call_transfers" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "CallId" TEXT NOT NULL,
    "Provider" TEXT NOT NULL,
    "Destination" TEXT NULL,
    "Number" TEXT NOT NULL,
    "Mode" TEXT NOT NULL,
    "Reason" TEXT NULL,
    "Outcome" TEXT NOT NULL,
    "ConferenceName" TEXT NULL,
    "AgentCallSid" TEXT NULL,
    "Error" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "ConnectedAt" INTEGER NULL,
    "EndedAt" INTEGER NULL,
    CONSTRAINT "FK_call_transfers_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_call_transfers_TenantId_CallId_CreatedAt" ON "call_transfers" ("TenantId", "CallId", "CreatedAt");
CREATE INDEX "IX_call_transfers_TenantId_AgentCallSid" ON "call_transfers" ("TenantId", "AgentCallSid");
