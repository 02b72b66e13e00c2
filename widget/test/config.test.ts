import { describe, expect, it } from "vitest";
import { CONFIG_RETRY_MS, loadConfig, type ConfigDeps } from "../src/config";

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** A fake server: each attempt gets the next outcome (a response, or a network failure); records the waits and first-failure calls. */
function server(...outcomes: (() => Response)[]) {
  const waits: number[] = [];
  const failures: string[] = [];
  let attempts = 0;
  const deps: ConfigDeps = {
    fetch: async () => {
      attempts++;
      const next = outcomes.shift();
      if (!next) throw new Error("unexpected GET");
      return next();
    },
    sleep: async (ms) => void waits.push(ms),
    onFirstFailure: (reason) => void failures.push(reason),
  };
  return { deps, waits, failures, attempts: () => attempts };
}

const down = (): Response => {
  throw new TypeError("Failed to fetch");
};

describe("loadConfig", () => {
  it("tries again while the server is down when the page loads, and gets the launcher once it is back", async () => {
    const s = server(down, () => json(503, {}), down, () => json(200, { tenantName: "Drain Fortin" }));
    const result = await loadConfig<{ tenantName: string }>(s.deps);
    expect(result).toEqual({ ok: true, config: { tenantName: "Drain Fortin" } });
    expect(s.attempts()).toBe(4);
    expect(s.waits).toEqual(CONFIG_RETRY_MS.slice(0, 3));
    expect(s.failures).toEqual(["Failed to fetch"]); // the page hears of it once
  });

  it("gives up on a refusal it could read, without waiting, and says which", async () => {
    const s = server(() => json(403, { error: { code: "FEATURE_NOT_IN_PLAN" } }));
    expect(await loadConfig(s.deps)).toEqual({ ok: false, reason: "FEATURE_NOT_IN_PLAN", final: true });
    expect(s.attempts()).toBe(1);
    expect(s.waits).toEqual([]);
    expect(s.failures).toEqual([]); // no "for now" message: it will not come back
  });

  it("stops at the first answer on a site that is not allowed", async () => {
    const s = server(() => json(403, { error: { code: "ORIGIN_NOT_ALLOWED", message: "This site is not one of the widget's allowed origins" } }));
    expect(await loadConfig(s.deps)).toEqual({ ok: false, reason: "ORIGIN_NOT_ALLOWED", final: true });
    expect(s.attempts()).toBe(1);
  });

  it("falls back to the status when a refusal's body is not an error envelope", async () => {
    const s = server(() => new Response("<html>Forbidden</html>", { status: 403, headers: { "content-type": "text/html" } }));
    expect(await loadConfig(s.deps)).toEqual({ ok: false, reason: "403", final: true });
    expect(s.attempts()).toBe(1);
  });

  it("stops after its last wait when the server never answers", async () => {
    const s = server(...Array(CONFIG_RETRY_MS.length + 1).fill(down));
    expect(await loadConfig(s.deps)).toEqual({ ok: false, reason: "Failed to fetch", final: false });
    expect(s.attempts()).toBe(CONFIG_RETRY_MS.length + 1);
    expect(s.waits).toEqual([...CONFIG_RETRY_MS]);
  });
});
