-- 0019_analytics_rollup (SQLite): the overview analytics (issue 8 §2, ≤ 200 ms for 90 days at 1M calls) read a
-- rollup maintained on write instead of the calls themselves.
-- 1. calls."LeadBooked": 1 when the call's lead is booked, else NULL; copied from leads by the same triggers that copy
--    the urgency (recreated here), so every lead change reaches the rollup through the calls triggers below.
-- 2. analytics_quarters: per tenant and UTC quarter hour (Bucket = CreatedAt ticks rounded down to 15 minutes) the
--    call counters, sums and the outbound SMS sent. Every zone offset and DST change is a multiple of 15 minutes, so
--    a local day in any zone is a whole set of quarters.
-- 3. analytics_histograms: per tenant, metric and UTC day, fixed bins (AnalyticsBins: lower bound in s or ms) of call
--    durations and native turn latencies; analytics_ended_reasons: per tenant and UTC day, calls per ended reason.
-- 4. Triggers add a row's contribution on INSERT, remove it on DELETE (erasure, retention, cascades) and move it on
--    UPDATE of the columns it depends on (old contribution out, new in), in the writer's transaction.
-- 5. Backfill: set-based INSERT … SELECT … GROUP BY over the existing rows.
ALTER TABLE "calls" ADD COLUMN "LeadBooked" INTEGER NULL;
UPDATE "calls" SET "LeadBooked" = 1
WHERE "Id" IN (SELECT l."CallId" FROM "leads" l WHERE l."Status" = 'booked');

DROP TRIGGER "leads_urgency_ai";
DROP TRIGGER "leads_urgency_au";
DROP TRIGGER "leads_urgency_ad";
CREATE TRIGGER "leads_urgency_ai" AFTER INSERT ON "leads" BEGIN
    UPDATE "calls" SET "Urgency" = new."Urgency", "LeadBooked" = CASE WHEN new."Status" = 'booked' THEN 1 END WHERE "Id" = new."CallId";
END;
CREATE TRIGGER "leads_urgency_au" AFTER UPDATE OF "Urgency", "Status", "CallId" ON "leads" BEGIN
    UPDATE "calls" SET "Urgency" = NULL, "LeadBooked" = NULL WHERE "Id" = old."CallId" AND old."CallId" IS NOT new."CallId";
    UPDATE "calls" SET "Urgency" = new."Urgency", "LeadBooked" = CASE WHEN new."Status" = 'booked' THEN 1 END
    WHERE "Id" = new."CallId" AND ("Urgency" IS NOT new."Urgency" OR "LeadBooked" IS NOT CASE WHEN new."Status" = 'booked' THEN 1 END);
END;
CREATE TRIGGER "leads_urgency_ad" AFTER DELETE ON "leads" BEGIN
    UPDATE "calls" SET "Urgency" = NULL, "LeadBooked" = NULL WHERE "Id" = old."CallId";
END;

CREATE TABLE "analytics_quarters" (
    "TenantId" TEXT NOT NULL,
    "Bucket" INTEGER NOT NULL,
    "Calls" INTEGER NOT NULL,
    "Missed" INTEGER NOT NULL,
    "Emergency" INTEGER NOT NULL,
    "Soon" INTEGER NOT NULL,
    "Routine" INTEGER NOT NULL,
    "Leads" INTEGER NOT NULL,
    "LeadsBooked" INTEGER NOT NULL,
    "DurationSum" REAL NOT NULL,
    "DurationCount" INTEGER NOT NULL,
    "CostSum" REAL NOT NULL,
    "CostCount" INTEGER NOT NULL,
    "SmsSent" INTEGER NOT NULL,
    CONSTRAINT "PK_analytics_quarters" PRIMARY KEY ("TenantId", "Bucket")
);
CREATE TABLE "analytics_histograms" (
    "TenantId" TEXT NOT NULL,
    "Metric" TEXT NOT NULL,
    "Day" INTEGER NOT NULL,
    "Bin" INTEGER NOT NULL,
    "Count" INTEGER NOT NULL,
    CONSTRAINT "PK_analytics_histograms" PRIMARY KEY ("TenantId", "Metric", "Day", "Bin")
);
CREATE TABLE "analytics_ended_reasons" (
    "TenantId" TEXT NOT NULL,
    "Day" INTEGER NOT NULL,
    "EndedReason" TEXT NOT NULL,
    "Count" INTEGER NOT NULL,
    CONSTRAINT "PK_analytics_ended_reasons" PRIMARY KEY ("TenantId", "Day", "EndedReason")
);

INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
SELECT c."TenantId", c."CreatedAt" - c."CreatedAt" % 9000000000, COUNT(*),
       SUM(CASE WHEN c."Status" IN ('busy', 'no-answer', 'failed', 'canceled') OR (c."Status" IN ('ended', 'completed') AND coalesce(c."DurationSeconds", 0) = 0) THEN 1 ELSE 0 END),
       SUM(CASE WHEN c."Urgency" = 'emergency' THEN 1 ELSE 0 END), SUM(CASE WHEN c."Urgency" = 'soon' THEN 1 ELSE 0 END),
       SUM(CASE WHEN c."Urgency" = 'routine' THEN 1 ELSE 0 END), COUNT(c."Urgency"), COUNT(c."LeadBooked"),
       coalesce(SUM(CASE WHEN c."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN c."DurationSeconds" END), 0), COUNT(CASE WHEN c."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN 1 END), coalesce(SUM(CASE WHEN c."Cost" BETWEEN -1e308 AND 1e308 THEN c."Cost" END), 0), COUNT(CASE WHEN c."Cost" BETWEEN -1e308 AND 1e308 THEN 1 END), 0
FROM "calls" c GROUP BY 1, 2;
INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
SELECT s."TenantId", s."CreatedAt" - s."CreatedAt" % 9000000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*)
FROM "sms_messages" s WHERE s."Direction" = 'outbound' AND s."Status" IN ('sent', 'delivered', 'simulated') GROUP BY 1, 2
ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "SmsSent" = "SmsSent" + excluded."SmsSent";
INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
SELECT c."TenantId", 'duration', c."CreatedAt" - c."CreatedAt" % 864000000000, CASE WHEN c."DurationSeconds" <= 0 THEN 0 WHEN c."DurationSeconds" < 120 THEN 0 + CAST((c."DurationSeconds" - 0) / 1 AS INTEGER) * 1 WHEN c."DurationSeconds" < 600 THEN 120 + CAST((c."DurationSeconds" - 120) / 5 AS INTEGER) * 5 WHEN c."DurationSeconds" < 3600 THEN 600 + CAST((c."DurationSeconds" - 600) / 30 AS INTEGER) * 30 WHEN c."DurationSeconds" < 14400 THEN 3600 + CAST((c."DurationSeconds" - 3600) / 300 AS INTEGER) * 300 ELSE 14400 END, COUNT(*)
FROM "calls" c WHERE c."DurationSeconds" IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
SELECT t."TenantId", 'latency', t."At" - t."At" % 864000000000, CASE WHEN (t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) <= 0 THEN 0 WHEN (t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) < 1000 THEN 0 + CAST(((t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) - 0) / 5 AS INTEGER) * 5 WHEN (t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) < 3000 THEN 1000 + CAST(((t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) - 1000) / 10 AS INTEGER) * 10 WHEN (t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) < 10000 THEN 3000 + CAST(((t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) - 3000) / 50 AS INTEGER) * 50 WHEN (t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) < 60000 THEN 10000 + CAST(((t."ProviderLatencyMs" + coalesce(t."BridgeLatencyMs", 0)) - 10000) / 1000 AS INTEGER) * 1000 ELSE 60000 END, COUNT(*)
FROM "transcript_turns" t WHERE t."ProviderLatencyMs" IS NOT NULL AND t."At" IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO "analytics_ended_reasons" ("TenantId", "Day", "EndedReason", "Count")
SELECT c."TenantId", c."CreatedAt" - c."CreatedAt" % 864000000000, c."EndedReason", COUNT(*)
FROM "calls" c WHERE c."EndedReason" IS NOT NULL GROUP BY 1, 2, 3;

-- Sums and counts take finite values only: a non-finite value stored before the edge rule (±∞) would make a sum NaN
-- (∞ − ∞ when it is removed), which SQLite stores as NULL. Histograms bin ±∞ into their end bins symmetrically.
CREATE TRIGGER "calls_analytics_ai" AFTER INSERT ON "calls" BEGIN
    INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    VALUES (new."TenantId", new."CreatedAt" - new."CreatedAt" % 9000000000, 1,
            CASE WHEN new."Status" IN ('busy', 'no-answer', 'failed', 'canceled') OR (new."Status" IN ('ended', 'completed') AND coalesce(new."DurationSeconds", 0) = 0) THEN 1 ELSE 0 END,
            CASE WHEN new."Urgency" = 'emergency' THEN 1 ELSE 0 END, CASE WHEN new."Urgency" = 'soon' THEN 1 ELSE 0 END,
            CASE WHEN new."Urgency" = 'routine' THEN 1 ELSE 0 END, CASE WHEN new."Urgency" IS NOT NULL THEN 1 ELSE 0 END,
            CASE WHEN new."LeadBooked" THEN 1 ELSE 0 END,
            1 * (CASE WHEN new."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN new."DurationSeconds" ELSE 0 END), CASE WHEN new."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN 1 ELSE 0 END,
            1 * (CASE WHEN new."Cost" BETWEEN -1e308 AND 1e308 THEN new."Cost" ELSE 0 END), CASE WHEN new."Cost" BETWEEN -1e308 AND 1e308 THEN 1 ELSE 0 END, 0)
    ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "Calls" = "Calls" + excluded."Calls", "Missed" = "Missed" + excluded."Missed",
        "Emergency" = "Emergency" + excluded."Emergency", "Soon" = "Soon" + excluded."Soon", "Routine" = "Routine" + excluded."Routine",
        "Leads" = "Leads" + excluded."Leads", "LeadsBooked" = "LeadsBooked" + excluded."LeadsBooked",
        "DurationSum" = "DurationSum" + excluded."DurationSum", "DurationCount" = "DurationCount" + excluded."DurationCount",
        "CostSum" = "CostSum" + excluded."CostSum", "CostCount" = "CostCount" + excluded."CostCount";
    INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
    SELECT new."TenantId", 'duration', new."CreatedAt" - new."CreatedAt" % 864000000000, CASE WHEN new."DurationSeconds" <= 0 THEN 0 WHEN new."DurationSeconds" < 120 THEN 0 + CAST((new."DurationSeconds" - 0) / 1 AS INTEGER) * 1 WHEN new."DurationSeconds" < 600 THEN 120 + CAST((new."DurationSeconds" - 120) / 5 AS INTEGER) * 5 WHEN new."DurationSeconds" < 3600 THEN 600 + CAST((new."DurationSeconds" - 600) / 30 AS INTEGER) * 30 WHEN new."DurationSeconds" < 14400 THEN 3600 + CAST((new."DurationSeconds" - 3600) / 300 AS INTEGER) * 300 ELSE 14400 END, 1 WHERE new."DurationSeconds" IS NOT NULL
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = "Count" + excluded."Count";
    INSERT INTO "analytics_ended_reasons" ("TenantId", "Day", "EndedReason", "Count")
    SELECT new."TenantId", new."CreatedAt" - new."CreatedAt" % 864000000000, new."EndedReason", 1 WHERE new."EndedReason" IS NOT NULL
    ON CONFLICT ("TenantId", "Day", "EndedReason") DO UPDATE SET "Count" = "Count" + excluded."Count";
END;
CREATE TRIGGER "calls_analytics_quarter_au" AFTER UPDATE OF "TenantId", "CreatedAt", "Status", "DurationSeconds", "Urgency", "LeadBooked", "Cost" ON "calls"
WHEN old."TenantId" IS NOT new."TenantId" OR old."CreatedAt" IS NOT new."CreatedAt" OR old."Status" IS NOT new."Status" OR old."DurationSeconds" IS NOT new."DurationSeconds" OR old."Urgency" IS NOT new."Urgency" OR old."LeadBooked" IS NOT new."LeadBooked" OR old."Cost" IS NOT new."Cost" BEGIN
    INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    VALUES (old."TenantId", old."CreatedAt" - old."CreatedAt" % 9000000000, -1,
            CASE WHEN old."Status" IN ('busy', 'no-answer', 'failed', 'canceled') OR (old."Status" IN ('ended', 'completed') AND coalesce(old."DurationSeconds", 0) = 0) THEN -1 ELSE 0 END,
            CASE WHEN old."Urgency" = 'emergency' THEN -1 ELSE 0 END, CASE WHEN old."Urgency" = 'soon' THEN -1 ELSE 0 END,
            CASE WHEN old."Urgency" = 'routine' THEN -1 ELSE 0 END, CASE WHEN old."Urgency" IS NOT NULL THEN -1 ELSE 0 END,
            CASE WHEN old."LeadBooked" THEN -1 ELSE 0 END,
            -1 * (CASE WHEN old."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN old."DurationSeconds" ELSE 0 END), CASE WHEN old."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN -1 ELSE 0 END,
            -1 * (CASE WHEN old."Cost" BETWEEN -1e308 AND 1e308 THEN old."Cost" ELSE 0 END), CASE WHEN old."Cost" BETWEEN -1e308 AND 1e308 THEN -1 ELSE 0 END, 0)
    ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "Calls" = "Calls" + excluded."Calls", "Missed" = "Missed" + excluded."Missed",
        "Emergency" = "Emergency" + excluded."Emergency", "Soon" = "Soon" + excluded."Soon", "Routine" = "Routine" + excluded."Routine",
        "Leads" = "Leads" + excluded."Leads", "LeadsBooked" = "LeadsBooked" + excluded."LeadsBooked",
        "DurationSum" = "DurationSum" + excluded."DurationSum", "DurationCount" = "DurationCount" + excluded."DurationCount",
        "CostSum" = "CostSum" + excluded."CostSum", "CostCount" = "CostCount" + excluded."CostCount";
    INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    VALUES (new."TenantId", new."CreatedAt" - new."CreatedAt" % 9000000000, 1,
            CASE WHEN new."Status" IN ('busy', 'no-answer', 'failed', 'canceled') OR (new."Status" IN ('ended', 'completed') AND coalesce(new."DurationSeconds", 0) = 0) THEN 1 ELSE 0 END,
            CASE WHEN new."Urgency" = 'emergency' THEN 1 ELSE 0 END, CASE WHEN new."Urgency" = 'soon' THEN 1 ELSE 0 END,
            CASE WHEN new."Urgency" = 'routine' THEN 1 ELSE 0 END, CASE WHEN new."Urgency" IS NOT NULL THEN 1 ELSE 0 END,
            CASE WHEN new."LeadBooked" THEN 1 ELSE 0 END,
            1 * (CASE WHEN new."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN new."DurationSeconds" ELSE 0 END), CASE WHEN new."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN 1 ELSE 0 END,
            1 * (CASE WHEN new."Cost" BETWEEN -1e308 AND 1e308 THEN new."Cost" ELSE 0 END), CASE WHEN new."Cost" BETWEEN -1e308 AND 1e308 THEN 1 ELSE 0 END, 0)
    ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "Calls" = "Calls" + excluded."Calls", "Missed" = "Missed" + excluded."Missed",
        "Emergency" = "Emergency" + excluded."Emergency", "Soon" = "Soon" + excluded."Soon", "Routine" = "Routine" + excluded."Routine",
        "Leads" = "Leads" + excluded."Leads", "LeadsBooked" = "LeadsBooked" + excluded."LeadsBooked",
        "DurationSum" = "DurationSum" + excluded."DurationSum", "DurationCount" = "DurationCount" + excluded."DurationCount",
        "CostSum" = "CostSum" + excluded."CostSum", "CostCount" = "CostCount" + excluded."CostCount";
END;
CREATE TRIGGER "calls_analytics_duration_au" AFTER UPDATE OF "TenantId", "CreatedAt", "DurationSeconds" ON "calls"
WHEN old."TenantId" IS NOT new."TenantId" OR old."CreatedAt" IS NOT new."CreatedAt" OR old."DurationSeconds" IS NOT new."DurationSeconds" BEGIN
    INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
    SELECT old."TenantId", 'duration', old."CreatedAt" - old."CreatedAt" % 864000000000, CASE WHEN old."DurationSeconds" <= 0 THEN 0 WHEN old."DurationSeconds" < 120 THEN 0 + CAST((old."DurationSeconds" - 0) / 1 AS INTEGER) * 1 WHEN old."DurationSeconds" < 600 THEN 120 + CAST((old."DurationSeconds" - 120) / 5 AS INTEGER) * 5 WHEN old."DurationSeconds" < 3600 THEN 600 + CAST((old."DurationSeconds" - 600) / 30 AS INTEGER) * 30 WHEN old."DurationSeconds" < 14400 THEN 3600 + CAST((old."DurationSeconds" - 3600) / 300 AS INTEGER) * 300 ELSE 14400 END, -1 WHERE old."DurationSeconds" IS NOT NULL
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = "Count" + excluded."Count";
    INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
    SELECT new."TenantId", 'duration', new."CreatedAt" - new."CreatedAt" % 864000000000, CASE WHEN new."DurationSeconds" <= 0 THEN 0 WHEN new."DurationSeconds" < 120 THEN 0 + CAST((new."DurationSeconds" - 0) / 1 AS INTEGER) * 1 WHEN new."DurationSeconds" < 600 THEN 120 + CAST((new."DurationSeconds" - 120) / 5 AS INTEGER) * 5 WHEN new."DurationSeconds" < 3600 THEN 600 + CAST((new."DurationSeconds" - 600) / 30 AS INTEGER) * 30 WHEN new."DurationSeconds" < 14400 THEN 3600 + CAST((new."DurationSeconds" - 3600) / 300 AS INTEGER) * 300 ELSE 14400 END, 1 WHERE new."DurationSeconds" IS NOT NULL
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = "Count" + excluded."Count";
END;
CREATE TRIGGER "calls_analytics_reason_au" AFTER UPDATE OF "TenantId", "CreatedAt", "EndedReason" ON "calls"
WHEN old."TenantId" IS NOT new."TenantId" OR old."CreatedAt" IS NOT new."CreatedAt" OR old."EndedReason" IS NOT new."EndedReason" BEGIN
    INSERT INTO "analytics_ended_reasons" ("TenantId", "Day", "EndedReason", "Count")
    SELECT old."TenantId", old."CreatedAt" - old."CreatedAt" % 864000000000, old."EndedReason", -1 WHERE old."EndedReason" IS NOT NULL
    ON CONFLICT ("TenantId", "Day", "EndedReason") DO UPDATE SET "Count" = "Count" + excluded."Count";
    INSERT INTO "analytics_ended_reasons" ("TenantId", "Day", "EndedReason", "Count")
    SELECT new."TenantId", new."CreatedAt" - new."CreatedAt" % 864000000000, new."EndedReason", 1 WHERE new."EndedReason" IS NOT NULL
    ON CONFLICT ("TenantId", "Day", "EndedReason") DO UPDATE SET "Count" = "Count" + excluded."Count";
END;
CREATE TRIGGER "calls_analytics_ad" AFTER DELETE ON "calls" BEGIN
    INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    VALUES (old."TenantId", old."CreatedAt" - old."CreatedAt" % 9000000000, -1,
            CASE WHEN old."Status" IN ('busy', 'no-answer', 'failed', 'canceled') OR (old."Status" IN ('ended', 'completed') AND coalesce(old."DurationSeconds", 0) = 0) THEN -1 ELSE 0 END,
            CASE WHEN old."Urgency" = 'emergency' THEN -1 ELSE 0 END, CASE WHEN old."Urgency" = 'soon' THEN -1 ELSE 0 END,
            CASE WHEN old."Urgency" = 'routine' THEN -1 ELSE 0 END, CASE WHEN old."Urgency" IS NOT NULL THEN -1 ELSE 0 END,
            CASE WHEN old."LeadBooked" THEN -1 ELSE 0 END,
            -1 * (CASE WHEN old."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN old."DurationSeconds" ELSE 0 END), CASE WHEN old."DurationSeconds" BETWEEN -1e308 AND 1e308 THEN -1 ELSE 0 END,
            -1 * (CASE WHEN old."Cost" BETWEEN -1e308 AND 1e308 THEN old."Cost" ELSE 0 END), CASE WHEN old."Cost" BETWEEN -1e308 AND 1e308 THEN -1 ELSE 0 END, 0)
    ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "Calls" = "Calls" + excluded."Calls", "Missed" = "Missed" + excluded."Missed",
        "Emergency" = "Emergency" + excluded."Emergency", "Soon" = "Soon" + excluded."Soon", "Routine" = "Routine" + excluded."Routine",
        "Leads" = "Leads" + excluded."Leads", "LeadsBooked" = "LeadsBooked" + excluded."LeadsBooked",
        "DurationSum" = "DurationSum" + excluded."DurationSum", "DurationCount" = "DurationCount" + excluded."DurationCount",
        "CostSum" = "CostSum" + excluded."CostSum", "CostCount" = "CostCount" + excluded."CostCount";
    INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
    SELECT old."TenantId", 'duration', old."CreatedAt" - old."CreatedAt" % 864000000000, CASE WHEN old."DurationSeconds" <= 0 THEN 0 WHEN old."DurationSeconds" < 120 THEN 0 + CAST((old."DurationSeconds" - 0) / 1 AS INTEGER) * 1 WHEN old."DurationSeconds" < 600 THEN 120 + CAST((old."DurationSeconds" - 120) / 5 AS INTEGER) * 5 WHEN old."DurationSeconds" < 3600 THEN 600 + CAST((old."DurationSeconds" - 600) / 30 AS INTEGER) * 30 WHEN old."DurationSeconds" < 14400 THEN 3600 + CAST((old."DurationSeconds" - 3600) / 300 AS INTEGER) * 300 ELSE 14400 END, -1 WHERE old."DurationSeconds" IS NOT NULL
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = "Count" + excluded."Count";
    INSERT INTO "analytics_ended_reasons" ("TenantId", "Day", "EndedReason", "Count")
    SELECT old."TenantId", old."CreatedAt" - old."CreatedAt" % 864000000000, old."EndedReason", -1 WHERE old."EndedReason" IS NOT NULL
    ON CONFLICT ("TenantId", "Day", "EndedReason") DO UPDATE SET "Count" = "Count" + excluded."Count";
END;
CREATE TRIGGER "sms_messages_analytics_ai" AFTER INSERT ON "sms_messages" BEGIN
    INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    SELECT new."TenantId", new."CreatedAt" - new."CreatedAt" % 9000000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
    WHERE new."Direction" = 'outbound' AND new."Status" IN ('sent', 'delivered', 'simulated')
    ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "SmsSent" = "SmsSent" + excluded."SmsSent";
END;
CREATE TRIGGER "sms_messages_analytics_au" AFTER UPDATE OF "TenantId", "CreatedAt", "Direction", "Status" ON "sms_messages"
WHEN old."TenantId" IS NOT new."TenantId" OR old."CreatedAt" IS NOT new."CreatedAt" OR old."Direction" IS NOT new."Direction" OR old."Status" IS NOT new."Status" BEGIN
    INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    SELECT old."TenantId", old."CreatedAt" - old."CreatedAt" % 9000000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1
    WHERE old."Direction" = 'outbound' AND old."Status" IN ('sent', 'delivered', 'simulated')
    ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "SmsSent" = "SmsSent" + excluded."SmsSent";
    INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    SELECT new."TenantId", new."CreatedAt" - new."CreatedAt" % 9000000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
    WHERE new."Direction" = 'outbound' AND new."Status" IN ('sent', 'delivered', 'simulated')
    ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "SmsSent" = "SmsSent" + excluded."SmsSent";
END;
CREATE TRIGGER "sms_messages_analytics_ad" AFTER DELETE ON "sms_messages" BEGIN
    INSERT INTO "analytics_quarters" ("TenantId", "Bucket", "Calls", "Missed", "Emergency", "Soon", "Routine", "Leads", "LeadsBooked", "DurationSum", "DurationCount", "CostSum", "CostCount", "SmsSent")
    SELECT old."TenantId", old."CreatedAt" - old."CreatedAt" % 9000000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1
    WHERE old."Direction" = 'outbound' AND old."Status" IN ('sent', 'delivered', 'simulated')
    ON CONFLICT ("TenantId", "Bucket") DO UPDATE SET "SmsSent" = "SmsSent" + excluded."SmsSent";
END;
CREATE TRIGGER "transcript_turns_analytics_ai" AFTER INSERT ON "transcript_turns" WHEN new."ProviderLatencyMs" IS NOT NULL BEGIN
    INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
    SELECT new."TenantId", 'latency', new."At" - new."At" % 864000000000, CASE WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) <= 0 THEN 0 WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) < 1000 THEN 0 + CAST(((new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) - 0) / 5 AS INTEGER) * 5 WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) < 3000 THEN 1000 + CAST(((new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) - 1000) / 10 AS INTEGER) * 10 WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) < 10000 THEN 3000 + CAST(((new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) - 3000) / 50 AS INTEGER) * 50 WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) < 60000 THEN 10000 + CAST(((new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) - 10000) / 1000 AS INTEGER) * 1000 ELSE 60000 END, 1 WHERE new."ProviderLatencyMs" IS NOT NULL AND new."At" IS NOT NULL
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = "Count" + excluded."Count";
END;
CREATE TRIGGER "transcript_turns_analytics_au" AFTER UPDATE OF "TenantId", "At", "ProviderLatencyMs", "BridgeLatencyMs" ON "transcript_turns"
WHEN old."TenantId" IS NOT new."TenantId" OR old."At" IS NOT new."At" OR old."ProviderLatencyMs" IS NOT new."ProviderLatencyMs" OR old."BridgeLatencyMs" IS NOT new."BridgeLatencyMs" BEGIN
    INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
    SELECT old."TenantId", 'latency', old."At" - old."At" % 864000000000, CASE WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) <= 0 THEN 0 WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) < 1000 THEN 0 + CAST(((old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) - 0) / 5 AS INTEGER) * 5 WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) < 3000 THEN 1000 + CAST(((old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) - 1000) / 10 AS INTEGER) * 10 WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) < 10000 THEN 3000 + CAST(((old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) - 3000) / 50 AS INTEGER) * 50 WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) < 60000 THEN 10000 + CAST(((old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) - 10000) / 1000 AS INTEGER) * 1000 ELSE 60000 END, -1 WHERE old."ProviderLatencyMs" IS NOT NULL AND old."At" IS NOT NULL
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = "Count" + excluded."Count";
    INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
    SELECT new."TenantId", 'latency', new."At" - new."At" % 864000000000, CASE WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) <= 0 THEN 0 WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) < 1000 THEN 0 + CAST(((new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) - 0) / 5 AS INTEGER) * 5 WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) < 3000 THEN 1000 + CAST(((new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) - 1000) / 10 AS INTEGER) * 10 WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) < 10000 THEN 3000 + CAST(((new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) - 3000) / 50 AS INTEGER) * 50 WHEN (new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) < 60000 THEN 10000 + CAST(((new."ProviderLatencyMs" + coalesce(new."BridgeLatencyMs", 0)) - 10000) / 1000 AS INTEGER) * 1000 ELSE 60000 END, 1 WHERE new."ProviderLatencyMs" IS NOT NULL AND new."At" IS NOT NULL
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = "Count" + excluded."Count";
END;
CREATE TRIGGER "transcript_turns_analytics_ad" AFTER DELETE ON "transcript_turns" WHEN old."ProviderLatencyMs" IS NOT NULL BEGIN
    INSERT INTO "analytics_histograms" ("TenantId", "Metric", "Day", "Bin", "Count")
    SELECT old."TenantId", 'latency', old."At" - old."At" % 864000000000, CASE WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) <= 0 THEN 0 WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) < 1000 THEN 0 + CAST(((old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) - 0) / 5 AS INTEGER) * 5 WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) < 3000 THEN 1000 + CAST(((old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) - 1000) / 10 AS INTEGER) * 10 WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) < 10000 THEN 3000 + CAST(((old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) - 3000) / 50 AS INTEGER) * 50 WHEN (old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) < 60000 THEN 10000 + CAST(((old."ProviderLatencyMs" + coalesce(old."BridgeLatencyMs", 0)) - 10000) / 1000 AS INTEGER) * 1000 ELSE 60000 END, -1 WHERE old."ProviderLatencyMs" IS NOT NULL AND old."At" IS NOT NULL
    ON CONFLICT ("TenantId", "Metric", "Day", "Bin") DO UPDATE SET "Count" = "Count" + excluded."Count";
END;
