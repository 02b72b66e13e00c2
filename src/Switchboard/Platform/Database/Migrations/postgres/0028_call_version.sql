-- 0028_call_version (PostgreSQL): calls."Version" counts the saves that changed a call (issue 13; see the SQLite
-- migration of the same number: on SQLite a Vapi message is prepared outside the single writer and its version checked
-- inside it). Kept on PostgreSQL too, where every save that changes a call bumps it the same way.

ALTER TABLE calls ADD COLUMN "Version" bigint NOT NULL DEFAULT 0;
