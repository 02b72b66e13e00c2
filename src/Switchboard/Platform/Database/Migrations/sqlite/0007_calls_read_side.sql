-- 0007_calls_read_side (SQLite): the dashboard's read side at scale (issue 8).
-- 1. calls."Urgency": the call's lead urgency, copied by triggers on leads so that ?urgency= is one index range.
-- 2. Keyset indexes: every list filter has an index (TenantId, <filter>, CreatedAt, Id) matching the list order
--    (CreatedAt DESC, Id DESC); the plain (TenantId, CreatedAt) index becomes (TenantId, CreatedAt, Id, …) covering
--    the analytics columns; transcript turns get (TenantId, At, latencies) for the latency percentiles.
-- 3. Full-text search: calls_search, an FTS5 external-content table over the view calls_search_source (summary +
--    transcript, and the caller's number as tokens n<suffix> so a digits fragment is a prefix query), accents folded
--    by unicode61 remove_diacritics 2. Triggers keep it in sync; the BEFORE triggers remove the old document while
--    the view still shows the old values (FTS5 external content needs the exact old text to delete it).
--    After a VACUUM (which may renumber rowids) run: INSERT INTO calls_search(calls_search) VALUES('rebuild');
ALTER TABLE "calls" ADD COLUMN "Urgency" TEXT NULL;
UPDATE "calls" SET "Urgency" = (SELECT l."Urgency" FROM "leads" l WHERE l."CallId" = "calls"."Id");

CREATE TRIGGER "leads_urgency_ai" AFTER INSERT ON "leads" BEGIN
    UPDATE "calls" SET "Urgency" = new."Urgency" WHERE "Id" = new."CallId";
END;
CREATE TRIGGER "leads_urgency_au" AFTER UPDATE OF "Urgency", "CallId" ON "leads" BEGIN
    UPDATE "calls" SET "Urgency" = new."Urgency" WHERE "Id" = new."CallId";
END;
CREATE TRIGGER "leads_urgency_ad" AFTER DELETE ON "leads" BEGIN
    UPDATE "calls" SET "Urgency" = NULL WHERE "Id" = old."CallId";
END;

DROP INDEX "IX_calls_TenantId_CreatedAt";
-- The unfiltered list walks this one; it also covers the analytics aggregates (no table reads per call).
CREATE INDEX "IX_calls_list_analytics" ON "calls" ("TenantId", "CreatedAt", "Id", "Status", "DurationSeconds", "Urgency", "EndedReason", "Cost");
CREATE INDEX "IX_calls_TenantId_Status_CreatedAt_Id" ON "calls" ("TenantId", "Status", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_Urgency_CreatedAt_Id" ON "calls" ("TenantId", "Urgency", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_Channel_CreatedAt_Id" ON "calls" ("TenantId", "Channel", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_Type_CreatedAt_Id" ON "calls" ("TenantId", "Type", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_AssistantId_CreatedAt_Id" ON "calls" ("TenantId", "AssistantId", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_EndedReason_CreatedAt_Id" ON "calls" ("TenantId", "EndedReason", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_DurationSeconds" ON "calls" ("TenantId", "DurationSeconds");
CREATE INDEX "IX_transcript_turns_latency" ON "transcript_turns" ("TenantId", "At", "ProviderLatencyMs", "BridgeLatencyMs");

CREATE VIEW "calls_search_source" AS
SELECT c.rowid AS "rid",
       coalesce(c."Summary", '') || ' ' || coalesce(c."TranscriptText", '') || ' ' || coalesce((
           WITH RECURSIVE d("digits") AS (
               SELECT replace(replace(replace(replace(replace(replace(coalesce(c."CustomerNumber", ''), '+', ''), '-', ''), ' ', ''), '(', ''), ')', ''), '.', '')
           ), s("i") AS (
               SELECT 1 UNION ALL SELECT "i" + 1 FROM s, d WHERE "i" + 3 <= length(d."digits")
           )
           SELECT group_concat('n' || substr(d."digits", s."i"), ' ') FROM s, d WHERE length(d."digits") >= 3
       ), '') AS "doc"
FROM "calls" c;

CREATE VIRTUAL TABLE "calls_search" USING fts5(
    "doc", content='calls_search_source', content_rowid='rid', tokenize='unicode61 remove_diacritics 2', detail='none');
INSERT INTO "calls_search"("calls_search") VALUES('rebuild');

CREATE TRIGGER "calls_search_ai" AFTER INSERT ON "calls" BEGIN
    INSERT INTO "calls_search"(rowid, "doc") SELECT "rid", "doc" FROM "calls_search_source" WHERE "rid" = new.rowid;
END;
CREATE TRIGGER "calls_search_bu" BEFORE UPDATE OF "Summary", "TranscriptText", "CustomerNumber" ON "calls" BEGIN
    INSERT INTO "calls_search"("calls_search", rowid, "doc") SELECT 'delete', "rid", "doc" FROM "calls_search_source" WHERE "rid" = old.rowid;
END;
CREATE TRIGGER "calls_search_au" AFTER UPDATE OF "Summary", "TranscriptText", "CustomerNumber" ON "calls" BEGIN
    INSERT INTO "calls_search"(rowid, "doc") SELECT "rid", "doc" FROM "calls_search_source" WHERE "rid" = new.rowid;
END;
CREATE TRIGGER "calls_search_bd" BEFORE DELETE ON "calls" BEGIN
    INSERT INTO "calls_search"("calls_search", rowid, "doc") SELECT 'delete', "rid", "doc" FROM "calls_search_source" WHERE "rid" = old.rowid;
END;

-- 4. Webhook events remember their call, for the call detail.
ALTER TABLE "webhook_events" ADD COLUMN "CallId" TEXT NULL;
CREATE INDEX "IX_webhook_events_TenantId_CallId" ON "webhook_events" ("TenantId", "CallId");
