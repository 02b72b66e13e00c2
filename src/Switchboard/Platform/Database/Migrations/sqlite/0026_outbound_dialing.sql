-- 0026_outbound_dialing (SQLite): crash-safe outbound placement (issue 11). calls.DialingAt is the "dialing" marker an
-- outbound call gets, in its own commit, just before Switchboard asks Twilio to create it: a retry that finds the marker
-- but no CallSid asks Twilio whether a call to that number from that caller id exists since then, and binds it instead
-- of placing a second call. Times are UTC ticks.

ALTER TABLE "calls" ADD COLUMN "DialingAt" INTEGER NULL;
