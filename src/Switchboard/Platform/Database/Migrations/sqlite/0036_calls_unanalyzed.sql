-- 0036_calls_unanalyzed (SQLite): the calls whose post-call pipeline has not run yet, for VapiMissingReportCloser's
-- once-a-minute pass (a Vapi call whose end-of-call report never came). A partial index holds only those (live calls and
-- the few ended ones waiting for their report), so the pass does not walk the whole history. It indexes the provider (the pass reads Vapi's calls), a
-- column that never changes, and not "UpdatedAt", so its frequent touches change no indexed column (0031). The query's condition is
-- written as EF writes !Analyzed, so SQLite matches it to this predicate (sqlite.org/partialindex.html §2.1).

CREATE INDEX "IX_calls_unanalyzed" ON "calls" ("Provider") WHERE NOT "Analyzed";
