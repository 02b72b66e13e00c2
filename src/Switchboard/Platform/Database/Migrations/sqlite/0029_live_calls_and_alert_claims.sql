-- 0029_live_calls_and_alert_claims (SQLite): two indexes for issue 13.
--
-- The plan's concurrent-call count (CallConcurrencyGate, on every assistant-request and
-- native call start) counted the tenant's calls that have not ended by walking every call the tenant ever had (issue 13:
-- it grows with the history, one index entry per call). A partial index holds the live calls only; the query's condition
-- is written exactly as this filter (CallStatuses.LiveFilterSql) so SQLite uses it (sqlite.org/partialindex.html §2.1).

CREATE INDEX "IX_calls_live" ON "calls" ("TenantId", "UpdatedAt")
    WHERE "Status" NOT IN ('ended', 'completed', 'busy', 'no-answer', 'failed', 'canceled');

-- The outbox claims its alert kinds (SMS) ahead of everything else due, so an emergency text never waits behind a backlog
-- of webhook deliveries (OutboxProcessor.AlertKinds): one range of this index per claim.
CREATE INDEX "IX_outbox_Status_Kind_NextAttemptAt" ON "outbox" ("Status", "Kind", "NextAttemptAt");
