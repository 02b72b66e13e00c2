-- 0007_calls_read_side (PostgreSQL): the dashboard's read side at scale (issue 8).
-- 1. calls."Urgency": the call's lead urgency, copied by a trigger on leads so that ?urgency= is one index range.
-- 2. Keyset indexes: every list filter has an index (TenantId, <filter>, CreatedAt, Id) matching the list order
--    (CreatedAt DESC, Id DESC); the plain (TenantId, CreatedAt) index becomes (TenantId, CreatedAt, Id, …) covering
--    the analytics columns; transcript turns get (TenantId, At, latencies) for the latency percentiles.
-- 3. Full-text search: a GIN index on calls_search_document(summary, transcript, number), a 'simple' tsvector of
--    the accent-folded text (sb_fold: translate(), no extension needed) plus the caller's number as tokens n<suffix>,
--    so a digits fragment is a prefix query (n<digits>:*). Queries must use the same expression to use the index.
ALTER TABLE calls ADD COLUMN "Urgency" character varying(16);
UPDATE calls SET "Urgency" = l."Urgency" FROM leads l WHERE l."CallId" = calls."Id";

CREATE FUNCTION leads_copy_urgency() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE calls SET "Urgency" = NULL WHERE "Id" = OLD."CallId";
        RETURN OLD;
    END IF;
    UPDATE calls SET "Urgency" = NEW."Urgency" WHERE "Id" = NEW."CallId" AND "Urgency" IS DISTINCT FROM NEW."Urgency";
    RETURN NEW;
END
$$;
CREATE TRIGGER leads_urgency AFTER INSERT OR UPDATE OF "Urgency", "CallId" OR DELETE ON leads
    FOR EACH ROW EXECUTE FUNCTION leads_copy_urgency();

DROP INDEX "IX_calls_TenantId_CreatedAt";
-- The unfiltered list walks this one; it also covers the analytics aggregates (no table reads per call).
CREATE INDEX "IX_calls_list_analytics" ON calls ("TenantId", "CreatedAt", "Id", "Status", "DurationSeconds", "Urgency", "EndedReason", "Cost");
CREATE INDEX "IX_calls_TenantId_Status_CreatedAt_Id" ON calls ("TenantId", "Status", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_Urgency_CreatedAt_Id" ON calls ("TenantId", "Urgency", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_Channel_CreatedAt_Id" ON calls ("TenantId", "Channel", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_Type_CreatedAt_Id" ON calls ("TenantId", "Type", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_AssistantId_CreatedAt_Id" ON calls ("TenantId", "AssistantId", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_EndedReason_CreatedAt_Id" ON calls ("TenantId", "EndedReason", "CreatedAt", "Id");
CREATE INDEX "IX_calls_TenantId_DurationSeconds" ON calls ("TenantId", "DurationSeconds");
CREATE INDEX "IX_transcript_turns_latency" ON transcript_turns ("TenantId", "At", "ProviderLatencyMs", "BridgeLatencyMs");

CREATE FUNCTION sb_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT translate(value,
        'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÿ',
        'AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOoooooUUUUuuuuYyy')
$$;

CREATE FUNCTION calls_search_document(summary text, transcript text, number text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple'::regconfig, sb_fold(coalesce(summary, '') || ' ' || coalesce(transcript, '')))
        || array_to_tsvector(ARRAY(
               SELECT 'n' || substr(d, i)
               FROM (SELECT regexp_replace(coalesce(number, ''), '[^0-9]', '', 'g') AS d) digits,
                    generate_series(1, length(d) - 2) AS i))
$$;

-- Tell the planner the document is expensive to compute, so it prefers the GIN index to evaluating it row by row.
ALTER FUNCTION calls_search_document(text, text, text) COST 5000;

CREATE INDEX "IX_calls_search" ON calls USING gin (calls_search_document("Summary", "TranscriptText", "CustomerNumber"));

-- 4. Webhook events remember their call, for the call detail.
ALTER TABLE webhook_events ADD COLUMN "CallId" uuid;
CREATE INDEX "IX_webhook_events_TenantId_CallId" ON webhook_events ("TenantId", "CallId");
