-- 0037_calls_native_unanalyzed (PostgreSQL): the bridged native calls whose post-call pipeline has not run yet, for
-- NativeCallCloser's once-a-minute pass (a call whose stream's node died, ended by Twilio's final status callback alone);
-- see the SQLite migration of the same number. The tenant is indexed, not "UpdatedAt", so the frequent touches of
-- "UpdatedAt" stay HOT updates (0031_calls_hot_updates).

CREATE INDEX "IX_calls_native_unanalyzed" ON calls ("TenantId") WHERE "Provider" = 'twilio' AND NOT "Analyzed" AND "StartedAt" IS NOT NULL;
