import { describe, expect, it } from "vitest";
import { BUSY_RETRY_MS, CONVERSATION_BUSY, CONVERSATION_CLOSED, deliver, errorCode, type DeliverDeps } from "../src/deliver";
import type { Saved } from "../src/session";

const refusal = (status: number, code?: string): Response =>
  new Response(code ? JSON.stringify({ error: { code, message: "…" } }) : "", { status, headers: { "content-type": "application/json" } });
const busy = () => refusal(409, CONVERSATION_BUSY);
const stream = () => new Response('event: delta\ndata: {"text":"Hi"}\n\n', { status: 200, headers: { "content-type": "text/event-stream" } });

/** A fake server: answers each POST with the next response; records what was sent, where, and every wait. */
function server(...responses: (() => Response)[]) {
  const posts: { id: string; token: string; text: string }[] = [];
  const waits: number[] = [];
  const busyCalls: number[] = [];
  let started = 0;
  const deps: DeliverDeps = {
    post: async (c, text) => {
      posts.push({ id: c.id, token: c.token, text });
      const next = responses.shift();
      if (!next) throw new Error("unexpected POST");
      return next();
    },
    start: async () => ({ id: "new" + ++started, token: "t-new" + started, at: 0 }),
    sleep: async (ms) => void waits.push(ms),
    onBusy: (retry) => void busyCalls.push(retry),
  };
  return { deps, posts, waits, busyCalls, started: () => started };
}

const tabs: Saved = { id: "c1", token: "t1", at: 0 };

describe("deliver", () => {
  it("keeps the conversation when it is busy and sends the same message again after a backoff", async () => {
    const s = server(busy, busy, stream);
    const result = await deliver("Water everywhere, my pipe burst", tabs, s.deps);
    expect(result.response.ok).toBe(true);
    expect(result.conversation).toBe(tabs);
    expect(s.started()).toBe(0);
    expect(s.posts).toEqual(Array(3).fill({ id: "c1", token: "t1", text: "Water everywhere, my pipe burst" }));
    expect(s.waits).toEqual([500, 1000]);
    expect(s.busyCalls).toEqual([1, 2]);
  });

  it("gives up after a bounded number of retries, still on the same conversation, with the busy code", async () => {
    const s = server(...Array<() => Response>(20).fill(busy));
    const result = await deliver("hello", tabs, s.deps);
    expect(result.response.status).toBe(409);
    expect(result.code).toBe(CONVERSATION_BUSY);
    expect(result.conversation).toBe(tabs);
    expect(s.started()).toBe(0);
    expect(s.posts).toHaveLength(1 + BUSY_RETRY_MS.length);
    expect(s.waits).toEqual([...BUSY_RETRY_MS]);
  });

  it("backs off with growing waits, at most five retries", () => {
    expect(BUSY_RETRY_MS.length).toBeGreaterThan(0);
    expect(BUSY_RETRY_MS.length).toBeLessThanOrEqual(5);
    expect(BUSY_RETRY_MS[0]).toBe(500);
    for (let i = 1; i < BUSY_RETRY_MS.length; i++) expect(BUSY_RETRY_MS[i]).toBeGreaterThan(BUSY_RETRY_MS[i - 1]);
  });

  it("starts a new conversation when the server says it is closed, and sends the message there", async () => {
    const s = server(() => refusal(409, CONVERSATION_CLOSED), stream);
    const result = await deliver("hello", tabs, s.deps);
    expect(result.response.ok).toBe(true);
    expect(result.conversation.id).toBe("new1");
    expect(s.posts.map((p) => [p.id, p.text])).toEqual([["c1", "hello"], ["new1", "hello"]]);
    expect(s.waits).toEqual([]);
  });

  it("starts a new conversation when the token or the conversation is no longer known (401, 404)", async () => {
    for (const status of [401, 404]) {
      const s = server(() => refusal(status, status === 401 ? "INVALID_TOKEN" : "CONVERSATION_NOT_FOUND"), stream);
      const result = await deliver("hello", tabs, s.deps);
      expect([status, result.conversation.id, result.response.ok]).toEqual([status, "new1", true]);
    }
  });

  it("does not start a new conversation on any other 409", async () => {
    for (const make of [() => refusal(409, "SOMETHING_ELSE"), () => refusal(409), () => new Response("<html>", { status: 409 })]) {
      const s = server(make);
      const result = await deliver("hello", tabs, s.deps);
      expect(result.response.status).toBe(409);
      expect(result.conversation).toBe(tabs);
      expect(s.started()).toBe(0);
      expect(s.posts).toHaveLength(1);
    }
  });

  it("replaces a closed conversation only once", async () => {
    const closed = () => refusal(409, CONVERSATION_CLOSED);
    const s = server(closed, closed, closed);
    const result = await deliver("hello", tabs, s.deps);
    expect(result.code).toBe(CONVERSATION_CLOSED);
    expect(s.started()).toBe(1);
    expect(s.posts).toHaveLength(2);
  });

  it("starts a conversation when the tab has none", async () => {
    const s = server(stream);
    const result = await deliver("hello", null, s.deps);
    expect(result.conversation.id).toBe("new1");
    expect(s.posts).toEqual([{ id: "new1", token: "t-new1", text: "hello" }]);
  });

  it("returns other refusals as they are (429 shows the widget's busy note)", async () => {
    const s = server(() => refusal(429, "RATE_LIMITED"));
    const result = await deliver("hello", tabs, s.deps);
    expect([result.response.status, result.code, s.started(), s.waits]).toEqual([429, null, 0, []]);
  });
});

describe("errorCode", () => {
  it("reads the code of the server's error envelope, else null", async () => {
    expect(await errorCode(refusal(409, CONVERSATION_BUSY))).toBe(CONVERSATION_BUSY);
    expect(await errorCode(new Response('{"error":{}}'))).toBeNull();
    expect(await errorCode(new Response("null"))).toBeNull();
    expect(await errorCode(new Response("not json"))).toBeNull();
  });
});
