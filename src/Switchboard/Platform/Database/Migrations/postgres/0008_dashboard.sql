-- 0008_dashboard (PostgreSQL): the leads workflow (status, notes, assignee) with indexes for the inbox's keyset paging
-- and status filter, and the per-tenant live-event sequence that every node increments before NOTIFY
-- (Dashboard/PostgresLiveEventTransport.cs).
ALTER TABLE leads ADD COLUMN "Status" character varying(16) NOT NULL DEFAULT 'new';
ALTER TABLE leads ADD COLUMN "Notes" character varying(4000);
ALTER TABLE leads ADD COLUMN "AssigneeUserId" uuid;

CREATE INDEX "IX_leads_TenantId_CreatedAt_Id" ON leads ("TenantId", "CreatedAt", "Id");
CREATE INDEX "IX_leads_TenantId_Status_CreatedAt" ON leads ("TenantId", "Status", "CreatedAt");

CREATE TABLE live_event_sequences (
    "TenantId" uuid NOT NULL,
    "LastSeq" bigint NOT NULL,
    CONSTRAINT "PK_live_event_sequences" PRIMARY KEY ("TenantId"),
    CONSTRAINT "FK_live_event_sequences_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);
