-- 0035_number_claims (PostgreSQL): attaching a phone number is a claim, not a reservation (Numbers/NumberClaims.cs). The
-- installation-wide unique index on "Number" let any tenant hold a number it had not proved it owns, before the outbox
-- looked it up on its Twilio account, and keep the real owner out. Now a tenant attaches a number once (an index leading
-- with the tenant, the distribution column), and the number is unique across tenants only among active rows (verified on
-- the tenant's own Twilio account); unverified rows of different tenants may coexist. The old index guaranteed the rows
-- already stored are unique, so both indexes build on any existing database. The filter is written exactly as
-- NumberClaims.ActiveFilterSql.

DROP INDEX "IX_phone_numbers_Number";

CREATE UNIQUE INDEX "IX_phone_numbers_TenantId_Number" ON phone_numbers ("TenantId", "Number");

CREATE UNIQUE INDEX "IX_phone_numbers_Number_active" ON phone_numbers ("Number") WHERE "Status" = 'active';
