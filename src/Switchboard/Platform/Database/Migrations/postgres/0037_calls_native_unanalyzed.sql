-- 0037_calls_native_unanalyzed (PostgreSQL): the bridged native calls whose post-call pipeline has not run yet, for
-- NativeCallCloser's once-a-minute pass (a call whose stream's node died, ended by Twilio's final status callback alone);
-- see the SQLite migration of the same number. "Status" is already indexed (0007), so its changes were not HOT updates
-- before; "UpdatedAt" is not indexed, so its frequent touches stay HOT (0031_calls_hot_updates).

CREATE INDEX "IX_calls_native_unanalyzed" ON calls ("Provider", "Status") WHERE "Provider" = 'twilio' AND NOT "Analyzed" AND "StartedAt" IS NOT NULL;
