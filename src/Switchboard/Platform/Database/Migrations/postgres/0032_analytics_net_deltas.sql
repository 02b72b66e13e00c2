-- 0032_analytics_net_deltas (PostgreSQL): a change to a call writes its net change to the analytics rollup, once (issue 13).
--
-- 0019's trigger took a changed call out of the rollup (its old contribution, times -1) and put it back (the new one, times
-- +1): two upserts of the same quarter row for every status change, even one that changes no count (ringing to
-- in-progress), and the same for the duration histogram. Under bench ingest the statements that fire it (a call's insert,
-- status updates, the end-of-call report's update, a lead's urgency copied to its call) were five of the top six by time;
-- with the triggers disabled the database spent about 0.1 ms less CPU per message (bench/results/stop45-2026-12-05.md).
--
-- Now, when the old and the new row fall in the same quarter row (same tenant and quarter; a call's shard is its id's),
-- the counts, sums and numbers of finite values are compared and only their difference is written, in one upsert, or
-- nothing when it is zero. The sums are the same as before: each cost is rounded to the column's numeric(18,4) before the
-- difference (as each of the two upserts rounded it), and a duration is a double whose difference is exact whenever the old
-- one is null, which is the case on the webhook path. A duration that stays in its bin leaves the histogram alone. Other
-- changes (tenant, quarter, ended reason) are applied as before.

-- A call's contribution to its quarter row: Calls, Missed, Emergency, Soon, Routine, Leads, LeadsBooked, DurationCount,
-- CostCount (the sums apart).
CREATE FUNCTION analytics_call_counts(r calls) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[
        1,
        CASE WHEN r."Status" IN ('busy', 'no-answer', 'failed', 'canceled') OR (r."Status" IN ('ended', 'completed') AND coalesce(r."DurationSeconds", 0) = 0) THEN 1 ELSE 0 END,
        CASE WHEN r."Urgency" = 'emergency' THEN 1 ELSE 0 END,
        CASE WHEN r."Urgency" = 'soon' THEN 1 ELSE 0 END,
        CASE WHEN r."Urgency" = 'routine' THEN 1 ELSE 0 END,
        CASE WHEN r."Urgency" IS NOT NULL THEN 1 ELSE 0 END,
        CASE WHEN r."LeadBooked" THEN 1 ELSE 0 END,
        CASE WHEN r."DurationSeconds" NOT IN ('Infinity', '-Infinity', 'NaN') THEN 1 ELSE 0 END,
        CASE WHEN r."Cost" NOT IN ('Infinity', '-Infinity', 'NaN') THEN 1 ELSE 0 END]
$$;

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
                INSERT INTO analytics_quarters AS a ("TenantId", "Bucket", "Shard", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
                VALUES (NEW."TenantId", analytics_quarter(NEW."CreatedAt"), analytics_shard(NEW."Id"), n[1] - o[1], n[2] - o[2], n[3] - o[3], n[4] - o[4],
                        n[5] - o[5], n[6] - o[6], n[7] - o[7], duration_delta, n[8] - o[8], cost_delta, n[9] - o[9], 0)
                ON CONFLICT ("TenantId", "Bucket", "Shard") DO UPDATE SET "Calls" = a."Calls" + excluded."Calls", "Missed" = a."Missed" + excluded."Missed",
                    "Emergency" = a."Emergency" + excluded."Emergency", "Soon" = a."Soon" + excluded."Soon", "Routine" = a."Routine" + excluded."Routine",
                    "Leads" = a."Leads" + excluded."Leads", "LeadsBooked" = a."LeadsBooked" + excluded."LeadsBooked",
                    "DurationSum" = a."DurationSum" + excluded."DurationSum", "DurationCount" = a."DurationCount" + excluded."DurationCount",
                    "CostSum" = a."CostSum" + excluded."CostSum", "CostCount" = a."CostCount" + excluded."CostCount";
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
