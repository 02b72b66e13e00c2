-- 0002_webhooks (PostgreSQL): tenant webhook endpoints, events (one per fact), deliveries (event x endpoint) and attempts.
-- Written by hand from the EF model (`switchboard schema-script`). Every index leads with TenantId.
CREATE TABLE webhook_endpoints (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "Url" character varying(2048) NOT NULL,
    "Description" character varying(500),
    "EventTypes" text NOT NULL,
    "Enabled" boolean NOT NULL,
    "DisabledReason" character varying(32),
    "DisabledAt" timestamp with time zone,
    "HeadersProtected" text,
    "SecretProtected" text NOT NULL,
    "PreviousSecretProtected" text,
    "PreviousSecretExpiresAt" timestamp with time zone,
    "FailingSince" timestamp with time zone,
    "CreatedAt" timestamp with time zone NOT NULL,
    "UpdatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_webhook_endpoints" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_webhook_endpoints_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE webhook_events (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "MessageId" character varying(64) NOT NULL,
    "Type" character varying(64) NOT NULL,
    "PayloadJson" text NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    CONSTRAINT "PK_webhook_events" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_webhook_events_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE webhook_deliveries (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "EndpointId" uuid NOT NULL,
    "EventId" uuid NOT NULL,
    "EventType" character varying(64) NOT NULL,
    "Status" character varying(16) NOT NULL,
    "Attempts" integer NOT NULL,
    "ScheduleAttempts" integer NOT NULL,
    "Replays" integer NOT NULL,
    "IsTest" boolean NOT NULL,
    "LastStatusCode" integer,
    "LastLatencyMs" integer,
    "LastError" character varying(500),
    "LastAttemptAt" timestamp with time zone,
    "NextAttemptAt" timestamp with time zone,
    "CreatedAt" timestamp with time zone NOT NULL,
    "CompletedAt" timestamp with time zone,
    CONSTRAINT "PK_webhook_deliveries" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_webhook_deliveries_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE TABLE webhook_attempts (
    "Id" uuid NOT NULL,
    "TenantId" uuid NOT NULL,
    "EndpointId" uuid NOT NULL,
    "DeliveryId" uuid NOT NULL,
    "Number" integer NOT NULL,
    "At" timestamp with time zone NOT NULL,
    "StatusCode" integer,
    "LatencyMs" integer NOT NULL,
    "Succeeded" boolean NOT NULL,
    "Error" character varying(500),
    "ResponseExcerpt" text,
    CONSTRAINT "PK_webhook_attempts" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_webhook_attempts_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_webhook_attempts_TenantId_DeliveryId_Number" ON webhook_attempts ("TenantId", "DeliveryId", "Number");
CREATE INDEX "IX_webhook_attempts_TenantId_EndpointId_At" ON webhook_attempts ("TenantId", "EndpointId", "At");
CREATE INDEX "IX_webhook_deliveries_TenantId_EndpointId_CreatedAt" ON webhook_deliveries ("TenantId", "EndpointId", "CreatedAt");
CREATE INDEX "IX_webhook_deliveries_TenantId_EndpointId_Status_CreatedAt" ON webhook_deliveries ("TenantId", "EndpointId", "Status", "CreatedAt");
CREATE UNIQUE INDEX "IX_webhook_deliveries_TenantId_EventId_EndpointId" ON webhook_deliveries ("TenantId", "EventId", "EndpointId");
CREATE INDEX "IX_webhook_endpoints_TenantId_CreatedAt" ON webhook_endpoints ("TenantId", "CreatedAt");
CREATE INDEX "IX_webhook_events_TenantId_CreatedAt" ON webhook_events ("TenantId", "CreatedAt");
CREATE UNIQUE INDEX "IX_webhook_events_TenantId_MessageId" ON webhook_events ("TenantId", "MessageId");
