-- 0028_call_version (SQLite): calls.Version counts the saves that changed a call (issue 13). A Vapi message is prepared
-- outside the single writer (its reads on a reader connection, its changes tracked in memory) and only written inside
-- it; the version it read is compared there, and a call changed meanwhile has the message redone inside the writer.

ALTER TABLE "calls" ADD COLUMN "Version" INTEGER NOT NULL DEFAULT 0;
