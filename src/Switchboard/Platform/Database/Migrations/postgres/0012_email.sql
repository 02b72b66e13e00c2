-- 0012_email (PostgreSQL): account emails (invitations, password resets, email verification) delivered through the
-- outbox (kind email.send) over SMTP or into the local mailbox; single-use, expiring account tokens (SHA-256 only);
-- users."EmailVerifiedAt".

ALTER TABLE users ADD COLUMN "EmailVerifiedAt" timestamp with time zone;

CREATE TABLE email_messages (
    "Id" uuid NOT NULL,
    "TenantId" uuid,
    "To" character varying(254) NOT NULL,
    "Subject" character varying(300) NOT NULL,
    "TextBody" text NOT NULL,
    "Purpose" character varying(32) NOT NULL,
    "Status" character varying(16) NOT NULL,
    "Attempts" integer NOT NULL,
    "Error" character varying(1000),
    "MessageId" character varying(100),
    "CreatedAt" timestamp with time zone NOT NULL,
    "SentAt" timestamp with time zone,
    CONSTRAINT "PK_email_messages" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_email_messages_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES tenants ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_email_messages_CreatedAt" ON email_messages ("CreatedAt");
CREATE INDEX "IX_email_messages_TenantId" ON email_messages ("TenantId");
CREATE INDEX "IX_email_messages_To_CreatedAt" ON email_messages ("To", "CreatedAt");

CREATE TABLE account_tokens (
    "Id" uuid NOT NULL,
    "UserId" uuid NOT NULL,
    "Purpose" character varying(32) NOT NULL,
    "TokenHash" character varying(64) NOT NULL,
    "Email" character varying(254) NOT NULL,
    "CreatedAt" timestamp with time zone NOT NULL,
    "ExpiresAt" timestamp with time zone NOT NULL,
    "UsedAt" timestamp with time zone,
    CONSTRAINT "PK_account_tokens" PRIMARY KEY ("Id"),
    CONSTRAINT "FK_account_tokens_users_UserId" FOREIGN KEY ("UserId") REFERENCES users ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_account_tokens_TokenHash" ON account_tokens ("TokenHash");
CREATE INDEX "IX_account_tokens_UserId_Purpose_CreatedAt" ON account_tokens ("UserId", "Purpose", "CreatedAt");
