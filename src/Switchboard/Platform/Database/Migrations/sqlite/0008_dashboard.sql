-- 0008_dashboard (SQLite): the leads workflow (status, notes, assignee) with indexes for the inbox's keyset paging
-- and status filter, and the per-tenant live-event sequence (used on PostgreSQL only; kept here so both schemas match).
ALTER TABLE "leads" ADD COLUMN "Status" TEXT NOT NULL DEFAULT 'new';
ALTER TABLE "leads" ADD COLUMN "Notes" TEXT NULL;
ALTER TABLE "leads" ADD COLUMN "AssigneeUserId" TEXT NULL;

CREATE INDEX "IX_leads_TenantId_CreatedAt_Id" ON "leads" ("TenantId", "CreatedAt", "Id");
CREATE INDEX "IX_leads_TenantId_Status_CreatedAt" ON "leads" ("TenantId", "Status", "CreatedAt");

CREATE TABLE "live_event_sequences" (
    "TenantId" TEXT NOT NULL CONSTRAINT "PK_live_event_sequences" PRIMARY KEY,
    "LastSeq" INTEGER NOT NULL,
    CONSTRAINT "FK_live_event_sequences_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);
