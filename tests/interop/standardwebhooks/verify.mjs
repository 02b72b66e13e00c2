// Verifies Standard Webhooks signatures with the official JavaScript library, so the C# signer is
// checked against a second implementation rather than only against itself.
//
// Input (stdin): one JSON object per line,
//   {"secret": "whsec_...", "headers": {"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...}, "body": "<raw body>",
//    "now": <optional Unix seconds>}
// Output (stdout): one line per non-blank input line, in order,
//   {"ok": true}  or  {"ok": false, "error": "<name>: <message>"}
// The library checks the timestamp against the current clock (±5 minutes), so sign with the real time, or pass
// "now": deliveries captured from a test host run on that host's injected clock, and the library's own ±5 minute
// check then runs against that clock (Date.now is swapped for the one call).
// Exit code is 0 even when a message fails verification; it is non-zero only if the script itself breaks.
import { createInterface } from "node:readline";
import { Webhook } from "standardwebhooks";

const realNow = Date.now;

function verifyLine(line) {
  try {
    const { secret, headers, body, now } = JSON.parse(line);
    if (typeof now === "number") {
      Date.now = () => now * 1000;
    }
    // jsonParse: false makes this a pure signature check; the body need not be JSON.
    new Webhook(secret).verify(body, headers, { jsonParse: false });
    return { ok: true };
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `${name}: ${message}` };
  } finally {
    Date.now = realNow;
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === "") {
    continue;
  }
  process.stdout.write(`${JSON.stringify(verifyLine(line))}\n`);
}
