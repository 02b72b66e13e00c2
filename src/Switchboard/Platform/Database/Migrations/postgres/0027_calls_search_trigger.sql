-- 0027_calls_search_trigger (PostgreSQL): the search columns of calls are kept by a trigger, not as generated columns
-- (issue 13). PostgreSQL recomputes every stored generated column on every UPDATE of the row, whatever the UPDATE
-- sets (postgresql.org/docs/15/ddl-generated-columns.html; ExecComputeStoredGenerated runs for each updated row), and
-- the webhook path touches a live call's row at each Vapi message (status, UpdatedAt): each speech-update re-ran
-- to_tsvector over the whole transcript. "SearchDocument" and "CustomerDigits" become plain columns (DROP EXPRESSION
-- keeps their values, PostgreSQL 13+) computed by the same expressions in a BEFORE trigger that fires on INSERT and
-- only on UPDATEs that set "Summary", "TranscriptText" or "CustomerNumber". Both stay outside the EF model.
ALTER TABLE calls ALTER COLUMN "SearchDocument" DROP EXPRESSION;
ALTER TABLE calls ALTER COLUMN "CustomerDigits" DROP EXPRESSION;

CREATE FUNCTION calls_search_columns() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW."SearchDocument" := calls_search_words(NEW."Summary", NEW."TranscriptText");
    NEW."CustomerDigits" := regexp_replace(coalesce(NEW."CustomerNumber", ''), '[^0-9]', '', 'g');
    RETURN NEW;
END
$$;

CREATE TRIGGER calls_search_columns_bi BEFORE INSERT ON calls
    FOR EACH ROW EXECUTE FUNCTION calls_search_columns();
CREATE TRIGGER calls_search_columns_bu BEFORE UPDATE OF "Summary", "TranscriptText", "CustomerNumber" ON calls
    FOR EACH ROW EXECUTE FUNCTION calls_search_columns();
