-- 0037_calls_native_unanalyzed (SQLite): the bridged native calls whose post-call pipeline has not run yet, for
-- NativeCallCloser's once-a-minute pass. A call whose stream's node died and whose end came only as Twilio's final status
-- callback is completed but never analyzed: the pass finds it here. Only bridged calls ("StartedAt" set once, by the stream's
-- start) enter the index, and they leave it when analyzed, so it holds the live ones and the few whose end is owed; the
-- never-bridged calls (notices, busy, unanswered), which stay unanalyzed for ever, are left out, unlike IX_calls_unanalyzed
-- (0036). Keyed by provider and status, so the pass's "Provider" = 'twilio' AND "Status" IN (the ended statuses) seeks it
-- (and the planner prefers it to IX_calls_unanalyzed); not by "UpdatedAt" (0031). The pass's condition is written as EF
-- writes it, so SQLite matches it to this predicate (sqlite.org/partialindex.html §2.1).

CREATE INDEX "IX_calls_native_unanalyzed" ON "calls" ("Provider", "Status") WHERE "Provider" = 'twilio' AND NOT "Analyzed" AND "StartedAt" IS NOT NULL;
