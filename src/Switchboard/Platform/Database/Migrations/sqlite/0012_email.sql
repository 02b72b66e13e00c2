-- 0012_email (SQLite): account emails (invitations, password resets, email verification) delivered through the
-- outbox (kind email.send) over SMTP or into the local mailbox; single-use, expiring account tokens (SHA-256 only);
-- users.EmailVerifiedAt. Times are UTC ticks (INTEGER).

ALTER TABLE "users" ADD COLUMN "EmailVerifiedAt" INTEGER NULL;

CREATE TABLE "email_messages" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_email_messages" PRIMARY KEY,
    "TenantId" TEXT NULL,
    "To" TEXT NOT NULL,
    "Subject" TEXT NOT NULL,
    "TextBody" TEXT NOT NULL,
    "Purpose" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "Attempts" INTEGER NOT NULL,
    "Error" TEXT NULL,
    "MessageId" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "SentAt" INTEGER NULL,
    CONSTRAINT "FK_email_messages_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_email_messages_CreatedAt" ON "email_messages" ("CreatedAt");
CREATE INDEX "IX_email_messages_TenantId" ON "email_messages" ("TenantId");
CREATE INDEX "IX_email_messages_To_CreatedAt" ON "email_messages" ("To", "CreatedAt");

CREATE TABLE "account_tokens" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_account_tokens" PRIMARY KEY,
    "UserId" TEXT NOT NULL,
    "Purpose" TEXT NOT NULL,
    "TokenHash" TEXT NOT NULL,
    "Email" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "ExpiresAt" INTEGER NOT NULL,
    "UsedAt" INTEGER NULL,
    CONSTRAINT "FK_account_tokens_users_UserId" FOREIGN KEY ("UserId") REFERENCES "users" ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_account_tokens_TokenHash" ON "account_tokens" ("TokenHash");
CREATE INDEX "IX_account_tokens_UserId_Purpose_CreatedAt" ON "account_tokens" ("UserId", "Purpose", "CreatedAt");
