// Verifies Stripe webhook signatures with the official `stripe` npm package (stripe.webhooks.constructEvent), so the
// fake Stripe's signer (and Switchboard's verifier, which is checked against the same vectors) is checked against a
// second implementation rather than only against itself.
//
// Input (stdin): one JSON object per line, {"secret": "whsec_...", "header": "t=...,v1=...", "body": "<raw body>", "now": <Unix seconds>}
// Output (stdout): one line per non-blank input line, in order, {"ok": true, "type": "<event type>"} or {"ok": false, "error": "<message>"}
// The library checks the timestamp against its clock (300 s tolerance); "now" swaps Date.now for the one call so
// events signed on a test host's injected clock verify at that moment.
import { createInterface } from "node:readline";
import Stripe from "stripe";

const stripe = new Stripe("sk_test_interop");
const realNow = Date.now;

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === "") {
    continue;
  }
  let result;
  try {
    const { secret, header, body, now } = JSON.parse(line);
    if (typeof now === "number") {
      Date.now = () => now * 1000;
    }
    const event = stripe.webhooks.constructEvent(body, header, secret);
    result = { ok: true, type: event.type };
  } catch (error) {
    result = { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    Date.now = realNow;
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}
