import { describe, expect, it } from "vitest";
import { readFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { SseParser } from "../src/sse";
import { pickLanguage, refusalNote, STRINGS } from "../src/i18n";
import { IDLE_MS, load, rememberOpen, save, visitorId, wasOpen } from "../src/session";

describe("SseParser", () => {
  it("assembles events split across chunks and line-end styles", () => {
    const p = new SseParser();
    const events = [
      ...p.push('event: delta\ndata: {"text":"Bon'),
      ...p.push('jour"}\n\nevent: done\r'),
      ...p.push('\ndata: {"brain":"offline"}\r\n\r\n: comment\n\ndata: a\ndata: b\n\n'),
    ];
    expect(events).toEqual([
      { event: "delta", data: '{"text":"Bonjour"}' },
      { event: "done", data: '{"brain":"offline"}' },
      { event: "message", data: "a\nb" },
    ]);
  });

  it("waits for the end of an event before emitting it", () => {
    const p = new SseParser();
    expect(p.push("data: x\n")).toEqual([]);
    expect(p.push("\n")).toEqual([{ event: "message", data: "x" }]);
  });
});

describe("pickLanguage", () => {
  it("takes the first supported candidate by primary subtag", () => {
    expect(pickLanguage([undefined, "ar-MA", "fr"])).toBe("ar");
    expect(pickLanguage(["", "pt-BR", "fr-CA"])).toBe("fr");
    expect(pickLanguage(["zz"])).toBe("en");
  });

  it("says chat is unavailable when the monthly allowance is used up, and asks to wait on other 429s", () => {
    const t = STRINGS.fr;
    expect(refusalNote(t, 429, "CHAT_QUOTA_EXCEEDED")).toBe(t.unavailable);
    expect(refusalNote(t, 429, "RATE_LIMITED")).toBe(t.busy);
    expect(refusalNote(t, 429)).toBe(t.busy);
    expect(refusalNote(t, 500, "CHAT_QUOTA_EXCEEDED")).toBe(t.error);
    expect(new Set(Object.values(STRINGS).map((s) => s.unavailable)).size).toBe(6); // worded in each language
  });

  it("has the same keys in every language", () => {
    const keys = Object.keys(STRINGS.en).sort();
    for (const [lang, strings] of Object.entries(STRINGS)) expect([lang, Object.keys(strings).sort()]).toEqual([lang, keys]);
    expect(Object.keys(STRINGS).sort()).toEqual(["ar", "de", "en", "es", "fr", "he"]);
  });

  it("leaves no string in English in another language, except a word spelled the same there", () => {
    // As the dashboard's locale check: a string identical to the English one is a translation forgotten, unless it is
    // that language's own word ("Messages" in French, "Chat" in Spanish and German).
    const sameWord: Record<string, string[]> = { fr: ["messages"], es: ["chat"], de: ["chat"], ar: [], he: [] };
    const english = STRINGS.en as unknown as Record<string, string>;
    const found = Object.entries(STRINGS)
      .filter(([lang]) => lang !== "en")
      .flatMap(([lang, strings]) =>
        Object.entries(strings as unknown as Record<string, string>)
          .filter(([key, text]) => text === english[key] && !sameWord[lang]!.includes(text.toLowerCase()))
          .map(([key, text]) => `${lang}.${key}: ${text}`),
      );
    expect(found).toEqual([]);
  });

  it("writes French with the typographic apostrophe (’), as the dashboard does", () => {
    expect(Object.entries(STRINGS.fr).filter(([, text]) => /\p{L}'\p{L}/u.test(text))).toEqual([]);
  });
});

describe("session", () => {
  const memory = () => {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
  };

  it("resumes within 30 minutes and forgets after", () => {
    const s = memory();
    save(s, "k", { id: "c1", token: "t", at: 1000 });
    expect(load(s, "k", 1000 + IDLE_MS - 1)?.id).toBe("c1");
    expect(load(s, "k", 1000 + IDLE_MS)).toBeNull();
    expect(s.getItem("k")).toBeNull();
  });

  it("remembers whether the chat was left open, closed when unknown or refused", () => {
    const s = memory();
    expect(wasOpen(s, "k:open")).toBe(false);
    rememberOpen(s, "k:open", true);
    expect(wasOpen(s, "k:open")).toBe(true);
    rememberOpen(s, "k:open", false);
    expect(wasOpen(s, "k:open")).toBe(false);
    const refused = { getItem: (): string | null => { throw new Error("SecurityError"); }, setItem: (): void => { throw new Error("SecurityError"); } };
    expect(() => rememberOpen(refused, "k:open", true)).not.toThrow();
    expect(wasOpen(refused, "k:open")).toBe(false);
  });

  it("makes visitor ids the server accepts", () => {
    expect(visitorId((n) => new Uint8Array(n).map((_, i) => i * 7))).toMatch(/^[a-z0-9]{20}$/);
  });
});

describe("bundle", () => {
  it("stays within 15 KB gzip with no runtime dependencies", () => {
    const file = new URL("../dist/widget.js", import.meta.url);
    expect(existsSync(file), "run npm run build first").toBe(true);
    expect(gzipSync(readFileSync(file), { level: 9 }).length).toBeLessThanOrEqual(15 * 1024);
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { dependencies?: object };
    expect(pkg.dependencies).toBeUndefined();
  });
});
