-- 0016_search_at_scale (PostgreSQL): search and number lookups at 1,000,000 calls (issue 8 §4).
-- 1. The search document is a stored generated column ("SearchDocument", words of the summary and transcript, accents
--    folded by sb_fold, 'simple' configuration) with a GIN index: no plan ever computes to_tsvector per row any more
--    (0007 indexed an expression, so any plan other than the bitmap scan recomputed it for every row it walked).
-- 2. The caller's number fragment: "CustomerDigits" (the digits of CustomerNumber, stored generated column) with a
--    pg_trgm GIN index, queried as LIKE '%<digits>%'. pg_trgm is a trusted extension (PostgreSQL 13+): the database
--    owner may create it. The n<suffix> tokens of 0007's document are gone.
-- Both columns exist only on PostgreSQL, outside the EF model (EF never writes them: they are generated).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION calls_search_words(summary text, transcript text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple'::regconfig, sb_fold(coalesce(summary, '') || ' ' || coalesce(transcript, '')))
$$;

DROP INDEX "IX_calls_search";
DROP FUNCTION calls_search_document(text, text, text);

ALTER TABLE calls
    ADD COLUMN "SearchDocument" tsvector GENERATED ALWAYS AS (calls_search_words("Summary", "TranscriptText")) STORED,
    ADD COLUMN "CustomerDigits" text GENERATED ALWAYS AS (regexp_replace(coalesce("CustomerNumber", ''), '[^0-9]', '', 'g')) STORED;

CREATE INDEX "IX_calls_search" ON calls USING gin ("SearchDocument");
CREATE INDEX "IX_calls_customer_digits" ON calls USING gin ("CustomerDigits" gin_trgm_ops);

-- Statistics for the new columns now (a sample of rows), not at the next autovacuum: without them the planner guesses
-- that a common word is rare and sorts every match instead of walking the list index.
ANALYZE calls;
