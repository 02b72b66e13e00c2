-- 0031_calls_hot_updates (SQLite): "IX_calls_live" holds the tenant only, as on PostgreSQL (see its migration of the same
-- number, where indexing "UpdatedAt" kept every write of a call's last activity from being a heap-only update). Here it
-- spares each of those writes a delete and an insert in the index; the concurrent-call count walks the tenant's live calls
-- (a few per line of the plan) and checks "UpdatedAt" on the rows. The predicate is unchanged (sqlite.org/partialindex.html §2.1).

DROP INDEX "IX_calls_live";
CREATE INDEX "IX_calls_live" ON "calls" ("TenantId")
    WHERE "Status" NOT IN ('ended', 'completed', 'busy', 'no-answer', 'failed', 'canceled');
