-- 0019_analytics_rollup (PostgreSQL): the overview analytics (issue 8 §2, ≤ 200 ms for 90 days at 1M calls) read a
-- rollup maintained on write instead of the calls themselves.
-- 1. calls."LeadBooked": true when the call's lead is booked, else NULL; copied from leads by the trigger that copies
--    the urgency (its function is replaced here), so every lead change reaches the rollup through the calls trigger.
--    A nullable column without default: adding it rewrites nothing; only booked leads' calls are updated.
-- 2. analytics_quarters: per tenant and UTC quarter hour (Bucket = CreatedAt rounded down to 15 minutes) the call
--    counters, sums and the outbound SMS sent. Every zone offset and DST change is a multiple of 15 minutes, so a
--    local day in any zone is a whole set of quarters.
-- 3. analytics_histograms: per tenant, metric and UTC day, fixed bins (AnalyticsBins: lower bound in s or ms) of call
--    durations and native turn latencies; analytics_ended_reasons: per tenant and UTC day, calls per ended reason.
-- 4. Triggers add a row's contribution on INSERT, remove it on DELETE (erasure, retention, cascades) and move it on
--    UPDATE of the columns it depends on (old contribution out, new in), in the writer's transaction.
-- 5. Backfill: set-based INSERT … SELECT … GROUP BY over the existing rows.
ALTER TABLE calls ADD COLUMN "LeadBooked" boolean;
UPDATE calls c SET "LeadBooked" = true FROM leads l
WHERE l."TenantId" = c."TenantId" AND l."CallId" = c."Id" AND l."Status" = 'booked';

CREATE OR REPLACE FUNCTION leads_copy_urgency() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND (TG_OP = 'DELETE' OR OLD."CallId" IS DISTINCT FROM NEW."CallId") THEN
        UPDATE calls SET "Urgency" = NULL, "LeadBooked" = NULL WHERE "Id" = OLD."CallId";
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    UPDATE calls SET "Urgency" = NEW."Urgency", "LeadBooked" = CASE WHEN NEW."Status" = 'booked' THEN true END
    WHERE "Id" = NEW."CallId"
      AND ("Urgency" IS DISTINCT FROM NEW."Urgency" OR "LeadBooked" IS DISTINCT FROM CASE WHEN NEW."Status" = 'booked' THEN true END);
    RETURN NEW;
END
$$;
DROP TRIGGER leads_urgency ON leads;
CREATE TRIGGER leads_urgency AFTER INSERT OR UPDATE OF "Urgency", "Status", "CallId" OR DELETE ON leads
    FOR EACH ROW EXECUTE FUNCTION leads_copy_urgency();

CREATE TABLE analytics_quarters (
    "TenantId" uuid NOT NULL,
    "Bucket" timestamp with time zone NOT NULL,
    "Calls" integer NOT NULL,
    "Missed" integer NOT NULL,
    "Emergency" integer NOT NULL,
    "Soon" integer NOT NULL,
    "Routine" integer NOT NULL,
    "Leads" integer NOT NULL,
    "LeadsBooked" integer NOT NULL,
    "DurationSum" double precision NOT NULL,
    "DurationCount" integer NOT NULL,
    "CostSum" numeric(18,4) NOT NULL,
    "CostCount" integer NOT NULL,
    "SmsSent" integer NOT NULL,
    CONSTRAINT "PK_analytics_quarters" PRIMARY KEY ("TenantId", "Bucket")
);
CREATE TABLE analytics_histograms (
    "TenantId" uuid NOT NULL,
    "Metric" character varying(16) NOT NULL,
    "Day" timestamp with time zone NOT NULL,
    "Bin" integer NOT NULL,
    "Count" integer NOT NULL,
    CONSTRAINT "PK_analytics_histograms" PRIMARY KEY ("TenantId", "Metric", "Day", "Bin")
);
CREATE TABLE analytics_ended_reasons (
    "TenantId" uuid NOT NULL,
    "Day" timestamp with time zone NOT NULL,
    "EndedReason" character varying(200) NOT NULL,
    "Count" integer NOT NULL,
    CONSTRAINT "PK_analytics_ended_reasons" PRIMARY KEY ("TenantId", "Day", "EndedReason")
);

-- The UTC quarter hour and UTC day holding an instant.
CREATE FUNCTION analytics_quarter(t timestamp with time zone) RETURNS timestamp with time zone LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT to_timestamp(floor(extract(epoch FROM t) / 900) * 900)
$$;
CREATE FUNCTION analytics_day(t timestamp with time zone) RETURNS timestamp with time zone LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT to_timestamp(floor(extract(epoch FROM t) / 86400) * 86400)
$$;
-- The fixed bins (lower bounds) of AnalyticsBins.
CREATE FUNCTION analytics_duration_bin(v double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN v <= 0 THEN 0 WHEN v < 120 THEN 0 + floor((v - 0) / 1)::integer * 1 WHEN v < 600 THEN 120 + floor((v - 120) / 5)::integer * 5 WHEN v < 3600 THEN 600 + floor((v - 600) / 30)::integer * 30 WHEN v < 14400 THEN 3600 + floor((v - 3600) / 300)::integer * 300 ELSE 14400 END
$$;
CREATE FUNCTION analytics_latency_bin(v double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN v <= 0 THEN 0 WHEN v < 1000 THEN 0 + floor((v - 0) / 5)::integer * 5 WHEN v < 3000 THEN 1000 + floor((v - 1000) / 10)::integer * 10 WHEN v < 10000 THEN 3000 + floor((v - 3000) / 50)::integer * 50 WHEN v < 60000 THEN 10000 + floor((v - 10000) / 1000)::integer * 1000 ELSE 60000 END
$$;

INSERT INTO analytics_quarters ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
SELECT c."TenantId", analytics_quarter(c."CreatedAt"), COUNT(*),
       COUNT(*) FILTER (WHERE c."Status" IN ('busy', 'no-answer', 'failed', 'canceled') OR (c."Status" IN ('ended', 'completed') AND coalesce(c."DurationSeconds", 0) = 0)),
       COUNT(*) FILTER (WHERE c."Urgency" = 'emergency'), COUNT(*) FILTER (WHERE c."Urgency" = 'soon'),
       COUNT(*) FILTER (WHERE c."Urgency" = 'routine'), COUNT(c."Urgency"), COUNT(c."LeadBooked"),
       coalesce(SUM(c."DurationSeconds") FILTER (WHERE c."DurationSeconds" NOT IN ('Infinity', '-Infinity', 'NaN')), 0), COUNT(c."DurationSeconds") FILTER (WHERE c."DurationSeconds" NOT IN ('Infinity', '-Infinity', 'NaN')), coalesce(SUM(c."Cost") FILTER (WHERE c."Cost" NOT IN ('Infinity', '-Infinity', 'NaN')), 0), COUNT(c."Cost") FILTER (WHERE c."Cost" NOT IN ('Infinity', '-Infinity', 'NaN')), 0
FROM calls c GROUP BY 1, 2;
INSERT INTO analytics_quarters ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
SELECT s."TenantId", analytics_quarter(s."CreatedAt"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*)
FROM sms_messages s WHERE s."Direction" = 'outbound' AND s."Status" IN ('sent', 'delivered', 'simulated') GROUP BY 1, 2
ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "SmsSent" = analytics_quarters."SmsSent" + excluded."SmsSent";
INSERT INTO analytics_histograms ("TenantId", "Metric", "Day", "Bin", "Count")
SELECT c."TenantId", 'duration', analytics_day(c."CreatedAt"), analytics_duration_bin(c."DurationSeconds"), COUNT(*)
FROM calls c WHERE c."DurationSeconds" IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO analytics_histograms ("TenantId", "Metric", "Day", "Bin", "Count")
SELECT t."TenantId", 'latency', analytics_day(t."At"), analytics_latency_bin(t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)), COUNT(*)
FROM transcript_turns t WHERE t."ProviderLatencyMs" IS NOT NULL AND t."At" IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO analytics_ended_reasons ("TenantId", "Day", "EndedReason", "Count")
SELECT c."TenantId", analytics_day(c."CreatedAt"), c."EndedReason", COUNT(*)
FROM calls c WHERE c."EndedReason" IS NOT NULL GROUP BY 1, 2, 3;

-- One call's contribution, times s (+1 or −1). part: 'q' counters, 'd' duration bin, 'r' ended reason.
CREATE FUNCTION analytics_call_apply(r calls, s integer, part text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF part = 'q' THEN
        INSERT INTO analytics_quarters AS a ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
        VALUES (r."TenantId", analytics_quarter(r."CreatedAt"), s,
                CASE WHEN r."Status" IN ('busy', 'no-answer', 'failed', 'canceled') OR (r."Status" IN ('ended', 'completed') AND coalesce(r."DurationSeconds", 0) = 0) THEN s ELSE 0 END,
                CASE WHEN r."Urgency" = 'emergency' THEN s ELSE 0 END, CASE WHEN r."Urgency" = 'soon' THEN s ELSE 0 END,
                CASE WHEN r."Urgency" = 'routine' THEN s ELSE 0 END, CASE WHEN r."Urgency" IS NOT NULL THEN s ELSE 0 END,
                CASE WHEN r."LeadBooked" THEN s ELSE 0 END,
                -- finite values only: a stored ±∞ or NaN would make the sum NaN for good
                s * (CASE WHEN r."DurationSeconds" NOT IN ('Infinity', '-Infinity', 'NaN') THEN r."DurationSeconds" ELSE 0 END),
                CASE WHEN r."DurationSeconds" NOT IN ('Infinity', '-Infinity', 'NaN') THEN s ELSE 0 END,
                s * (CASE WHEN r."Cost" NOT IN ('Infinity', '-Infinity', 'NaN') THEN r."Cost" ELSE 0 END),
                CASE WHEN r."Cost" NOT IN ('Infinity', '-Infinity', 'NaN') THEN s ELSE 0 END, 0)
        ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "Calls" = a."Calls" + excluded."Calls", "Missed" = a."Missed" + excluded."Missed",
            "Emergency" = a."Emergency" + excluded."Emergency", "Soon" = a."Soon" + excluded."Soon", "Routine" = a."Routine" + excluded."Routine",
            "Leads" = a."Leads" + excluded."Leads", "LeadsBooked" = a."LeadsBooked" + excluded."LeadsBooked",
            "DurationSum" = a."DurationSum" + excluded."DurationSum", "DurationCount" = a."DurationCount" + excluded."DurationCount",
            "CostSum" = a."CostSum" + excluded."CostSum", "CostCount" = a."CostCount" + excluded."CostCount";
    ELSIF part = 'd' AND r."DurationSeconds" IS NOT NULL THEN
        INSERT INTO analytics_histograms AS a ("TenantId", "Metric", "Day", "Bin", "Count")
        VALUES (r."TenantId", 'duration', analytics_day(r."CreatedAt"), analytics_duration_bin(r."DurationSeconds"), s)
        ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = a."Count" + excluded."Count";
    ELSIF part = 'r' AND r."EndedReason" IS NOT NULL THEN
        INSERT INTO analytics_ended_reasons AS a ("TenantId", "Day", "EndedReason", "Count")
        VALUES (r."TenantId", analytics_day(r."CreatedAt"), r."EndedReason", s)
        ON CONFLICT ("TenantId", "Day", "EndedReason") DO UPDATE SET "Count" = a."Count" + excluded."Count";
    END IF;
END
$$;

CREATE FUNCTION calls_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
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
        PERFORM analytics_call_apply(OLD, -1, 'q'); PERFORM analytics_call_apply(NEW, 1, 'q');
    END IF;
    IF (OLD."TenantId", OLD."CreatedAt", OLD."DurationSeconds") IS DISTINCT FROM (NEW."TenantId", NEW."CreatedAt", NEW."DurationSeconds") THEN
        PERFORM analytics_call_apply(OLD, -1, 'd'); PERFORM analytics_call_apply(NEW, 1, 'd');
    END IF;
    IF (OLD."TenantId", OLD."CreatedAt", OLD."EndedReason") IS DISTINCT FROM (NEW."TenantId", NEW."CreatedAt", NEW."EndedReason") THEN
        PERFORM analytics_call_apply(OLD, -1, 'r'); PERFORM analytics_call_apply(NEW, 1, 'r');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER calls_analytics AFTER INSERT OR UPDATE OF "TenantId", "CreatedAt", "Status", "DurationSeconds", "Urgency", "LeadBooked", "Cost", "EndedReason" OR DELETE ON calls
    FOR EACH ROW EXECUTE FUNCTION calls_analytics();

-- One outbound SMS's contribution (sent, delivered or simulated), times s.
CREATE FUNCTION analytics_sms_apply(r sms_messages, s integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF r."Direction" = 'outbound' AND r."Status" IN ('sent', 'delivered', 'simulated') THEN
        INSERT INTO analytics_quarters AS a ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
        VALUES (r."TenantId", analytics_quarter(r."CreatedAt"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, s)
        ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "SmsSent" = a."SmsSent" + excluded."SmsSent";
    END IF;
END
$$;
CREATE FUNCTION sms_messages_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM analytics_sms_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM analytics_sms_apply(NEW, 1);
        RETURN NEW;
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER sms_messages_analytics AFTER INSERT OR UPDATE OF "TenantId", "CreatedAt", "Direction", "Status" OR DELETE ON sms_messages
    FOR EACH ROW EXECUTE FUNCTION sms_messages_analytics();

-- One native assistant turn's latency, times s.
CREATE FUNCTION analytics_turn_apply(r transcript_turns, s integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF r."ProviderLatencyMs" IS NOT NULL AND r."At" IS NOT NULL THEN
        INSERT INTO analytics_histograms AS a ("TenantId", "Metric", "Day", "Bin", "Count")
        VALUES (r."TenantId", 'latency', analytics_day(r."At"), analytics_latency_bin(r."ProviderLatencyMs" + coalesce(r."BridgeLatencyMs", 0)), s)
        ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = a."Count" + excluded."Count";
    END IF;
END
$$;
CREATE FUNCTION transcript_turns_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM analytics_turn_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM analytics_turn_apply(NEW, 1);
        RETURN NEW;
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER transcript_turns_analytics AFTER INSERT OR UPDATE OF "TenantId", "At", "ProviderLatencyMs", "BridgeLatencyMs" OR DELETE ON transcript_turns
    FOR EACH ROW EXECUTE FUNCTION transcript_turns_analytics();

ANALYZE analytics_quarters;
ANALYZE analytics_histograms;
ANALYZE analytics_ended_reasons;
