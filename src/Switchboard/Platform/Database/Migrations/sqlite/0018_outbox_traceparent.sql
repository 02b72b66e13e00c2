-- 0018_outbox_traceparent (SQLite): each outbox row keeps the W3C traceparent of the span that enqueued it
-- ("00-<trace-id>-<parent-id>-<flags>", 55 characters), so its handler's span continues the same trace.
ALTER TABLE "outbox" ADD "TraceParent" TEXT NULL;
