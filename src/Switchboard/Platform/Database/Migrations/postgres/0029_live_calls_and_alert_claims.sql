-- 0029_live_calls_and_alert_claims (PostgreSQL): a partial index of the calls that have not ended, for the plan's concurrent-call
-- count (see the SQLite migration of the same number); the query's condition is the index's predicate.

CREATE INDEX "IX_calls_live" ON calls ("TenantId", "UpdatedAt")
    WHERE "Status" NOT IN ('ended', 'completed', 'busy', 'no-answer', 'failed', 'canceled');

-- The outbox claims its alert kinds (SMS) ahead of everything else due (OutboxProcessor.AlertKinds).
CREATE INDEX "IX_outbox_Status_Kind_NextAttemptAt" ON outbox ("Status", "Kind", "NextAttemptAt");
