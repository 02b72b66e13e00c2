-- 0033_analytics_deltas (PostgreSQL): the analytics triggers append their contributions to delta tables, and a background
-- fold (analytics_fold(), every second: Calls.AnalyticsDeltaFolder) moves them into the rollup; readers sum both (issue 13).
--
-- Why: 0019 – 0032 upsert the rollup row in the writer's transaction, which holds that row's lock until COMMIT (its WAL
-- flush included) and pays an index lookup and a new row version per contribution. Under bench ingest (64 workers, one
-- tenant) the triggers cost about 0.1 – 0.2 ms of PostgreSQL CPU per message even after 0032, and most of the 500 msg/s
-- tail: p99 75 / 136 ms with the triggers disabled, 224 / 338 ms with them (bench/results/stop45-2026-12-05.md). A delta is
-- a plain heap insert: no index, no conflict, no lock another writer can wait on.
--
-- 1. analytics_quarter_deltas, analytics_histogram_deltas, analytics_ended_reason_deltas: the rollup tables' columns,
--    no key; one row per contribution (signed, as the triggers computed it: 0032's net change on an update).
-- 2. The trigger functions of 0030 / 0032 insert there instead of upserting the rollup.
-- 3. analytics_fold(): one statement per table deletes every committed delta (DELETE … RETURNING) and adds their sums
--    per rollup key to the rollup (INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE). Deltas committed meanwhile are
--    not in the DELETE's snapshot and wait for the next fold. Folds take a transaction-level advisory lock, so two nodes'
--    folds run one after the other (each delta is added once either way: a DELETE skips the rows another deleted).
-- 5. analytics_forget(tenant): a tenant's erasure deletes its rollup rows and its deltas under the same lock, so no fold
--    that read the tenant's deltas before the erasure adds them back after it.
-- 4. analytics_quarters_live, analytics_histograms_live, analytics_ended_reasons_live: the rollup and its pending deltas
--    (UNION ALL). Readers sum per key, so a read is exact whether a fold has run or not, and a fold is invisible to them: its
--    deletes and upserts commit together.
CREATE TABLE analytics_quarter_deltas (LIKE analytics_quarters);
CREATE TABLE analytics_histogram_deltas (LIKE analytics_histograms);
CREATE TABLE analytics_ended_reason_deltas (LIKE analytics_ended_reasons);
-- Emptied every second: vacuum them by a fixed number of dead rows, not a share of a table that is always near empty.
ALTER TABLE analytics_quarter_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
ALTER TABLE analytics_histogram_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
ALTER TABLE analytics_ended_reason_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

CREATE VIEW analytics_quarters_live AS
    SELECT * FROM analytics_quarters UNION ALL SELECT * FROM analytics_quarter_deltas;
CREATE VIEW analytics_histograms_live AS
    SELECT * FROM analytics_histograms UNION ALL SELECT * FROM analytics_histogram_deltas;
CREATE VIEW analytics_ended_reasons_live AS
    SELECT * FROM analytics_ended_reasons UNION ALL SELECT * FROM analytics_ended_reason_deltas;

-- As 0030, each contribution appended to the deltas.
CREATE OR REPLACE FUNCTION analytics_call_apply(r calls, s integer, part text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c integer[];
BEGIN
    IF part = 'q' THEN
        c := analytics_call_counts(r);
        INSERT INTO analytics_quarter_deltas ("TenantId", "Bucket", "Shard", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
        VALUES (r."TenantId", analytics_quarter(r."CreatedAt"), analytics_shard(r."Id"), s * c[1], s * c[2], s * c[3], s * c[4], s * c[5], s * c[6], s * c[7],
                -- finite values only: a stored ±∞ or NaN would make the sum NaN for good
                s * (CASE WHEN r."DurationSeconds" NOT IN ('Infinity', '-Infinity', 'NaN') THEN r."DurationSeconds" ELSE 0 END), s * c[8],
                s * (CASE WHEN r."Cost" NOT IN ('Infinity', '-Infinity', 'NaN') THEN r."Cost" ELSE 0 END), s * c[9], 0);
    ELSIF part = 'd' AND r."DurationSeconds" IS NOT NULL THEN
        INSERT INTO analytics_histogram_deltas ("TenantId", "Metric", "Day", "Bin", "Shard", "Count")
        VALUES (r."TenantId", 'duration', analytics_day(r."CreatedAt"), analytics_duration_bin(r."DurationSeconds"), analytics_shard(r."Id"), s);
    ELSIF part = 'r' AND r."EndedReason" IS NOT NULL THEN
        INSERT INTO analytics_ended_reason_deltas ("TenantId", "Day", "EndedReason", "Shard", "Count")
        VALUES (r."TenantId", analytics_day(r."CreatedAt"), r."EndedReason", analytics_shard(r."Id"), s);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION analytics_sms_apply(r sms_messages, s integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF r."Direction" = 'outbound' AND r."Status" IN ('sent', 'delivered', 'simulated') THEN
        INSERT INTO analytics_quarter_deltas ("TenantId", "Bucket", "Shard", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
        VALUES (r."TenantId", analytics_quarter(r."CreatedAt"), analytics_shard(r."Id"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, s);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION analytics_turn_apply(r transcript_turns, s integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF r."ProviderLatencyMs" IS NOT NULL AND r."At" IS NOT NULL THEN
        INSERT INTO analytics_histogram_deltas ("TenantId", "Metric", "Day", "Bin", "Shard", "Count")
        VALUES (r."TenantId", 'latency', analytics_day(r."At"), analytics_latency_bin(r."ProviderLatencyMs" + coalesce(r."BridgeLatencyMs", 0)), analytics_shard(r."Id"), s);
    END IF;
END
$$;

-- As 0032: an update in the same quarter row appends its net change, or nothing when no figure moves.
CREATE OR REPLACE FUNCTION calls_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o integer[];
    n integer[];
    duration_delta double precision;
    cost_delta numeric(18,4);
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM analytics_call_apply(NEW, 1, 'q'); PERFORM analytics_call_apply(NEW, 1, 'd'); PERFORM analytics_call_apply(NEW, 1, 'r');
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM analytics_call_apply(OLD, -1, 'q'); PERFORM analytics_call_apply(OLD, -1, 'd'); PERFORM analytics_call_apply(OLD, -1, 'r');
        RETURN OLD;
    END IF;
    IF (OLD."TenantId", OLD."CreatedAt", OLD."Status", OLD."DurationSeconds", OLD."Urgency", OLD."LeadBooked", OLD."Cost")
       IS DISTINCT FROM (NEW."TenantId", NEW."CreatedAt", NEW."Status", NEW."DurationSeconds", NEW."Urgency", NEW."LeadBooked", NEW."Cost") THEN
        IF OLD."TenantId" = NEW."TenantId" AND analytics_quarter(OLD."CreatedAt") = analytics_quarter(NEW."CreatedAt") THEN
            o := analytics_call_counts(OLD);
            n := analytics_call_counts(NEW);
            duration_delta := (CASE WHEN NEW."DurationSeconds" NOT IN ('Infinity', '-Infinity', 'NaN') THEN NEW."DurationSeconds" ELSE 0 END)
                            - (CASE WHEN OLD."DurationSeconds" NOT IN ('Infinity', '-Infinity', 'NaN') THEN OLD."DurationSeconds" ELSE 0 END);
            cost_delta := (CASE WHEN NEW."Cost" NOT IN ('Infinity', '-Infinity', 'NaN') THEN NEW."Cost" ELSE 0 END)::numeric(18,4)
                        - (CASE WHEN OLD."Cost" NOT IN ('Infinity', '-Infinity', 'NaN') THEN OLD."Cost" ELSE 0 END)::numeric(18,4);
            IF o IS DISTINCT FROM n OR duration_delta <> 0 OR cost_delta <> 0 THEN
                INSERT INTO analytics_quarter_deltas ("TenantId", "Bucket", "Shard", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
                VALUES (NEW."TenantId", analytics_quarter(NEW."CreatedAt"), analytics_shard(NEW."Id"), n[1] - o[1], n[2] - o[2], n[3] - o[3], n[4] - o[4],
                        n[5] - o[5], n[6] - o[6], n[7] - o[7], duration_delta, n[8] - o[8], cost_delta, n[9] - o[9], 0);
            END IF;
        ELSE
            PERFORM analytics_call_apply(OLD, -1, 'q'); PERFORM analytics_call_apply(NEW, 1, 'q');
        END IF;
    END IF;
    IF (OLD."TenantId", OLD."CreatedAt", OLD."DurationSeconds") IS DISTINCT FROM (NEW."TenantId", NEW."CreatedAt", NEW."DurationSeconds")
       AND NOT (OLD."TenantId" = NEW."TenantId" AND analytics_day(OLD."CreatedAt") = analytics_day(NEW."CreatedAt")
                AND analytics_duration_bin(OLD."DurationSeconds") IS NOT DISTINCT FROM analytics_duration_bin(NEW."DurationSeconds")) THEN
        PERFORM analytics_call_apply(OLD, -1, 'd'); PERFORM analytics_call_apply(NEW, 1, 'd');
    END IF;
    IF (OLD."TenantId", OLD."CreatedAt", OLD."EndedReason") IS DISTINCT FROM (NEW."TenantId", NEW."CreatedAt", NEW."EndedReason") THEN
        PERFORM analytics_call_apply(OLD, -1, 'r'); PERFORM analytics_call_apply(NEW, 1, 'r');
    END IF;
    RETURN NEW;
END
$$;

-- Moves every committed delta into the rollup; returns the number of rollup rows written (0 when there was nothing).
CREATE FUNCTION analytics_fold() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    quarters integer;
    histograms integer;
    reasons integer;
BEGIN
    PERFORM pg_advisory_xact_lock(6003948442354077508); -- 0x5352_4f4c_4c46_4f44: "SROLLFOD": folds and erasures, one at a time
    WITH d AS (DELETE FROM analytics_quarter_deltas RETURNING *)
    INSERT INTO analytics_quarters AS a ("TenantId", "Bucket", "Shard", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    SELECT "TenantId", "Bucket", "Shard", sum("Calls"), sum("Missed"), sum("Emergency"), sum("Soon"), sum("Routine"), sum("Leads"), sum("LeadsBooked"),
           sum("DurationSum"), sum("DurationCount"), sum("CostSum"), sum("CostCount"), sum("SmsSent")
    FROM d GROUP BY "TenantId", "Bucket", "Shard"
    ON CONFLICT ("TenantId", "Bucket", "Shard") DO UPDATE SET "Calls" = a."Calls" + excluded."Calls", "Missed" = a."Missed" + excluded."Missed",
        "Emergency" = a."Emergency" + excluded."Emergency", "Soon" = a."Soon" + excluded."Soon", "Routine" = a."Routine" + excluded."Routine",
        "Leads" = a."Leads" + excluded."Leads", "LeadsBooked" = a."LeadsBooked" + excluded."LeadsBooked",
        "DurationSum" = a."DurationSum" + excluded."DurationSum", "DurationCount" = a."DurationCount" + excluded."DurationCount",
        "CostSum" = a."CostSum" + excluded."CostSum", "CostCount" = a."CostCount" + excluded."CostCount", "SmsSent" = a."SmsSent" + excluded."SmsSent";
    GET DIAGNOSTICS quarters = ROW_COUNT;
    WITH d AS (DELETE FROM analytics_histogram_deltas RETURNING *)
    INSERT INTO analytics_histograms AS a ("TenantId", "Metric", "Day", "Bin", "Shard", "Count")
    SELECT "TenantId", "Metric", "Day", "Bin", "Shard", sum("Count") FROM d GROUP BY "TenantId", "Metric", "Day", "Bin", "Shard"
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin", "Shard") DO UPDATE SET "Count" = a."Count" + excluded."Count";
    GET DIAGNOSTICS histograms = ROW_COUNT;
    WITH d AS (DELETE FROM analytics_ended_reason_deltas RETURNING *)
    INSERT INTO analytics_ended_reasons AS a ("TenantId", "Day", "EndedReason", "Shard", "Count")
    SELECT "TenantId", "Day", "EndedReason", "Shard", sum("Count") FROM d GROUP BY "TenantId", "Day", "EndedReason", "Shard"
    ON CONFLICT ("TenantId", "Day", "EndedReason", "Shard") DO UPDATE SET "Count" = a."Count" + excluded."Count";
    GET DIAGNOSTICS reasons = ROW_COUNT;
    RETURN quarters + histograms + reasons;
END
$$;

-- A tenant's erasure (ErasureService.EraseTenantAsync, after the cascade): its rollup rows and pending deltas, under the
-- fold's lock. Returns the number of rows deleted.
CREATE FUNCTION analytics_forget(tenant uuid) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    total integer := 0;
    n integer;
BEGIN
    PERFORM pg_advisory_xact_lock(6003948442354077508);
    DELETE FROM analytics_quarters WHERE "TenantId" = tenant; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM analytics_histograms WHERE "TenantId" = tenant; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM analytics_ended_reasons WHERE "TenantId" = tenant; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM analytics_quarter_deltas WHERE "TenantId" = tenant; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM analytics_histogram_deltas WHERE "TenantId" = tenant; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM analytics_ended_reason_deltas WHERE "TenantId" = tenant; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    RETURN total;
END
$$;
