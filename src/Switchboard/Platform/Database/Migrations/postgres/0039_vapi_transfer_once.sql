-- 0039_vapi_transfer_once (PostgreSQL): a transfer Vapi reports (transfer-update) is stored once per call and number
-- (CallTransfer.VapiTransferIndex). The dedupe was a read then an insert, so two deliveries read at once (two nodes, or
-- Vapi's retry racing the first) could both insert. Duplicates already stored are removed first, keeping the first
-- recorded of each (earliest "CreatedAt", then lowest "Id").
-- Native transfers (Provider 'twilio') are left alone and outside the index: a call may be transferred to one number again
-- after a failed attempt. The filter is written exactly as CallTransfer.VapiTransferFilterSql.

DELETE FROM call_transfers AS d
WHERE d."Provider" = 'vapi' AND EXISTS (
    SELECT 1 FROM call_transfers AS k
    WHERE k."Provider" = 'vapi' AND k."TenantId" = d."TenantId" AND k."CallId" = d."CallId" AND k."Number" = d."Number"
      AND (k."CreatedAt" < d."CreatedAt" OR (k."CreatedAt" = d."CreatedAt" AND k."Id" < d."Id")));

CREATE UNIQUE INDEX "IX_call_transfers_TenantId_CallId_Number_vapi" ON call_transfers ("TenantId", "CallId", "Number") WHERE "Provider" = 'vapi';
