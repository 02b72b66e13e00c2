-- 0023_transfer (PostgreSQL): live transfer (issue 11 part B). Each assistant may offer transfers (off by default) to a
-- list of destinations (JSON: name, E.164 number, weekly hours, description); call_transfers records every transfer made
-- on a call (cold or warm, native or reported by Vapi) with its outcome.

ALTER TABLE assistants ADD "TransferEnabled" boolean NOT NULL DEFAULT FALSE;
ALTER TABLE assistants ADD "TransferDestinations" text;

CREATE TABLE call_transfers (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "CallId" uuid NOT NULL,
    "Provider" character varying(16) NOT NULL,
    "Destination" character varying(80),
    "Number" character varying(40) NOT NULL,
    "Mode" character varying(8) NOT NULL,
    "Reason" character varying(500),
    "Outcome" character varying(16) NOT NULL,
    "ConferenceName" character varying(100),
    "AgentCallSid" character varying(64),
    "Error" character varying(500),
    "CreatedAt" timestamp with time zone NOT NULL,
    "ConnectedAt" timestamp with time zone,
    "EndedAt" timestamp with time zone,
    CONSTRAINT "PK_call_transfers" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_call_transfers_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_call_transfers_TenantId_CallId_CreatedAt" ON call_transfers ("TenantId", "CallId", "CreatedAt");
CREATE INDEX "IX_call_transfers_TenantId_AgentCallSid" ON call_transfers ("TenantId", "AgentCallSid");
