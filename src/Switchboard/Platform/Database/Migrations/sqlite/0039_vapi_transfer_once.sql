-- 0039_vapi_transfer_once (SQLite): a transfer Vapi reports (transfer-update) is stored once per call and number
-- (CallTransfer.VapiTransferIndex). The dedupe was a read then an insert, so two deliveries read at once could both insert.
-- Duplicates already stored are removed first, keeping the first recorded of each (earliest "CreatedAt", then lowest
-- "Id"), the one recorded first. Native transfers (Provider 'twilio') are left alone
-- and outside the index: a call may be transferred to one number again after a failed attempt. The filter is written
-- exactly as CallTransfer.VapiTransferFilterSql.

DELETE FROM "call_transfers"
WHERE "Provider" = 'vapi' AND EXISTS (
    SELECT 1 FROM "call_transfers" AS k
    WHERE k."Provider" = 'vapi' AND k."TenantId" = "call_transfers"."TenantId" AND k."CallId" = "call_transfers"."CallId"
      AND k."Number" = "call_transfers"."Number"
      AND (k."CreatedAt" < "call_transfers"."CreatedAt" OR (k."CreatedAt" = "call_transfers"."CreatedAt" AND k."Id" < "call_transfers"."Id")));

CREATE UNIQUE INDEX "IX_call_transfers_TenantId_CallId_Number_vapi" ON "call_transfers" ("TenantId", "CallId", "Number") WHERE "Provider" = 'vapi';
