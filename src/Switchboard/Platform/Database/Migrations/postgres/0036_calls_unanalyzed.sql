-- 0036_calls_unanalyzed (PostgreSQL): the calls whose post-call pipeline has not run yet, for VapiMissingReportCloser's
-- once-a-minute pass (a Vapi call whose end-of-call report never came); see the SQLite migration of the same number. The
-- provider is indexed, not "UpdatedAt", so the frequent touches of "UpdatedAt" stay HOT updates (0031_calls_hot_updates).

CREATE INDEX "IX_calls_unanalyzed" ON calls ("Provider") WHERE NOT "Analyzed";
