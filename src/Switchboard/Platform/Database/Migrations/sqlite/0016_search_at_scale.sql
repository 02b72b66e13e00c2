-- 0016_search_at_scale (SQLite): search and number lookups at 1,000,000 calls (issue 8 §4).
-- 1. The caller's number fragment gets its own FTS5 table, calls_number, with the trigram tokenizer over the number's
--    digits (external content: the view calls_number_source), so "4385" is a substring match ('"4385"') instead of
--    0007's prefix query over n<suffix> tokens. Triggers keep it in sync like calls_search's.
-- 2. calls_search indexes words only (summary + transcript): the n<suffix> tokens are dropped and the index rebuilt.
-- How the list uses them (CallListQuery): a cheap probe (at most 2,000 hits) tells a selective term from a frequent
-- one; a selective term drives the query from the FTS hits (then sorted by time); a frequent one is checked while the
-- list index is walked newest first, stopping at the page (words: one FTS5 rowid-range query per chunk of rows, since
-- rowids follow time; a number fragment: the digits expression in the row).
DROP TRIGGER "calls_search_ai";
DROP TRIGGER "calls_search_bu";
DROP TRIGGER "calls_search_au";
DROP TRIGGER "calls_search_bd";
DROP TABLE "calls_search";
DROP VIEW "calls_search_source";

CREATE VIEW "calls_search_source" AS
SELECT c.rowid AS "rid", coalesce(c."Summary", '') || ' ' || coalesce(c."TranscriptText", '') AS "doc"
FROM "calls" c;

CREATE VIRTUAL TABLE "calls_search" USING fts5(
    "doc", content='calls_search_source', content_rowid='rid', tokenize='unicode61 remove_diacritics 2', detail='none');
INSERT INTO "calls_search"("calls_search") VALUES('rebuild');

CREATE TRIGGER "calls_search_ai" AFTER INSERT ON "calls" BEGIN
    INSERT INTO "calls_search"(rowid, "doc") SELECT "rid", "doc" FROM "calls_search_source" WHERE "rid" = new.rowid;
END;
CREATE TRIGGER "calls_search_bu" BEFORE UPDATE OF "Summary", "TranscriptText" ON "calls" BEGIN
    INSERT INTO "calls_search"("calls_search", rowid, "doc") SELECT 'delete', "rid", "doc" FROM "calls_search_source" WHERE "rid" = old.rowid;
END;
CREATE TRIGGER "calls_search_au" AFTER UPDATE OF "Summary", "TranscriptText" ON "calls" BEGIN
    INSERT INTO "calls_search"(rowid, "doc") SELECT "rid", "doc" FROM "calls_search_source" WHERE "rid" = new.rowid;
END;
CREATE TRIGGER "calls_search_bd" BEFORE DELETE ON "calls" BEGIN
    INSERT INTO "calls_search"("calls_search", rowid, "doc") SELECT 'delete', "rid", "doc" FROM "calls_search_source" WHERE "rid" = old.rowid;
END;

CREATE VIEW "calls_number_source" AS
SELECT c.rowid AS "rid",
       replace(replace(replace(replace(replace(replace(coalesce(c."CustomerNumber", ''), '+', ''), '-', ''), ' ', ''), '(', ''), ')', ''), '.', '') AS "digits"
FROM "calls" c;

CREATE VIRTUAL TABLE "calls_number" USING fts5(
    "digits", content='calls_number_source', content_rowid='rid', tokenize='trigram');
INSERT INTO "calls_number"("calls_number") VALUES('rebuild');

CREATE TRIGGER "calls_number_ai" AFTER INSERT ON "calls" BEGIN
    INSERT INTO "calls_number"(rowid, "digits") SELECT "rid", "digits" FROM "calls_number_source" WHERE "rid" = new.rowid;
END;
CREATE TRIGGER "calls_number_bu" BEFORE UPDATE OF "CustomerNumber" ON "calls" BEGIN
    INSERT INTO "calls_number"("calls_number", rowid, "digits") SELECT 'delete', "rid", "digits" FROM "calls_number_source" WHERE "rid" = old.rowid;
END;
CREATE TRIGGER "calls_number_au" AFTER UPDATE OF "CustomerNumber" ON "calls" BEGIN
    INSERT INTO "calls_number"(rowid, "digits") SELECT "rid", "digits" FROM "calls_number_source" WHERE "rid" = new.rowid;
END;
CREATE TRIGGER "calls_number_bd" BEFORE DELETE ON "calls" BEGIN
    INSERT INTO "calls_number"("calls_number", rowid, "digits") SELECT 'delete', "rid", "digits" FROM "calls_number_source" WHERE "rid" = old.rowid;
END;
