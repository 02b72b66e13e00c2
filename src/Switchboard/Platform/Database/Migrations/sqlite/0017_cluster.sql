-- 0017_cluster (SQLite): the Data Protection key ring (each key's secret encrypted with the master key) and the
-- media-stream tokens already accepted. The rate-limit counter and lease tables exist for the shared model; one SQLite
-- node keeps its limits in memory.

CREATE TABLE "data_protection_keys" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_data_protection_keys" PRIMARY KEY AUTOINCREMENT,
    "FriendlyName" TEXT NULL,
    "Xml" TEXT NULL
);

CREATE TABLE "rate_limit_counters" (
    "Key" TEXT NOT NULL,
    "WindowStart" INTEGER NOT NULL,
    "Count" INTEGER NOT NULL,
    "ExpiresAt" INTEGER NOT NULL,
    CONSTRAINT "PK_rate_limit_counters" PRIMARY KEY ("Key", "WindowStart")
);
CREATE INDEX "IX_rate_limit_counters_ExpiresAt" ON "rate_limit_counters" ("ExpiresAt");

CREATE TABLE "concurrency_leases" (
    "Key" TEXT NOT NULL,
    "Slot" INTEGER NOT NULL,
    "Holder" TEXT NOT NULL,
    "ExpiresAt" INTEGER NOT NULL,
    CONSTRAINT "PK_concurrency_leases" PRIMARY KEY ("Key", "Slot")
);

CREATE TABLE "stream_token_uses" (
    "Nonce" TEXT NOT NULL CONSTRAINT "PK_stream_token_uses" PRIMARY KEY,
    "CallId" TEXT NOT NULL,
    "ExpiresAt" INTEGER NOT NULL
);
CREATE INDEX "IX_stream_token_uses_ExpiresAt" ON "stream_token_uses" ("ExpiresAt");
