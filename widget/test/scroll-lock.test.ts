// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ignoresRootOverflow, lockPageScroll } from "../src/scroll-lock";

/** The page's scroll offset as the test's browser has it; `scrollTo` moves it, as a browser's does. */
let scroll = { x: 0, y: 0 };
let scrollTo: ReturnType<typeof vi.fn>;

beforeEach(() => {
  scroll = { x: 0, y: 400 };
  Object.defineProperty(window, "scrollX", { configurable: true, get: () => scroll.x });
  Object.defineProperty(window, "scrollY", { configurable: true, get: () => scroll.y });
  scrollTo = vi.fn((o: ScrollToOptions) => {
    scroll = { x: o.left ?? scroll.x, y: o.top ?? scroll.y };
  });
  window.scrollTo = scrollTo as unknown as typeof window.scrollTo;
  // The page's own inline styles, which the lock must give back as they were.
  document.documentElement.setAttribute("style", "overflow-y: auto;");
  document.body.setAttribute("style", "position: relative; top: 3px;");
});

afterEach(() => {
  document.documentElement.removeAttribute("style");
  document.body.removeAttribute("style");
});

const rootStyle = () => document.documentElement.getAttribute("style");
const bodyStyle = () => document.body.getAttribute("style");

describe("lockPageScroll with the fixed-body fallback (iOS Safari < 16)", () => {
  it("fixes the body where the page stood and gives back the styles and the scroll position exactly", () => {
    const unlock = lockPageScroll(document, { fixBody: true });
    const b = document.body.style;
    expect([b.position, b.top, b.left, b.width]).toEqual(["fixed", "-400px", "0px", "100%"]);
    expect(b.getPropertyPriority("position")).toBe("important");
    expect(document.documentElement.style.overflowY).toBe("hidden");
    // A fixed body leaves nothing to scroll: the browser puts the offset at 0.
    scroll = { x: 0, y: 0 };

    unlock();
    expect(bodyStyle()).toBe("position: relative; top: 3px;");
    expect(rootStyle()).toBe("overflow-y: auto;");
    expect(scrollTo).toHaveBeenCalledTimes(1);
    expect(scrollTo).toHaveBeenCalledWith({ left: 0, top: 400, behavior: "instant" });
    expect(window.scrollY).toBe(400);
  });

  it("counts nested locks: the page is given back by the last release only, and a release counts once", () => {
    const first = lockPageScroll(document, { fixBody: true });
    scroll = { x: 0, y: 0 };
    const second = lockPageScroll(document, { fixBody: true });
    expect(document.body.style.top).toBe("-400px"); // the second lock did not re-read the (now 0) offset

    first();
    first();
    expect(document.body.style.position).toBe("fixed");
    expect(document.documentElement.style.overflowY).toBe("hidden");
    expect(scrollTo).not.toHaveBeenCalled();

    second();
    expect(bodyStyle()).toBe("position: relative; top: 3px;");
    expect(rootStyle()).toBe("overflow-y: auto;");
    expect(window.scrollY).toBe(400);

    // Locked again afterwards, from scratch.
    const third = lockPageScroll(document, { fixBody: true });
    expect(document.body.style.position).toBe("fixed");
    third();
    expect(bodyStyle()).toBe("position: relative; top: 3px;");
  });

  it("leaves the body alone where overflow hidden is enough, and does not scroll a page that did not move", () => {
    const unlock = lockPageScroll(document); // jsdom's user agent is not iOS
    expect(bodyStyle()).toBe("position: relative; top: 3px;");
    expect(document.documentElement.style.overflowY).toBe("hidden");
    unlock();
    expect(rootStyle()).toBe("overflow-y: auto;");
    expect(scrollTo).not.toHaveBeenCalled();
  });
});

describe("ignoresRootOverflow", () => {
  it("is true for WebKit on iOS and iPadOS before 16 only", () => {
    const iphone = (v: string) => `Mozilla/5.0 (iPhone; CPU iPhone OS ${v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v.split("_")[0]}.0 Mobile/15E148 Safari/604.1`;
    expect(ignoresRootOverflow(iphone("15_7"), 5)).toBe(true);
    expect(ignoresRootOverflow(iphone("12_5_7"), 5)).toBe(true);
    expect(ignoresRootOverflow(iphone("16_0"), 5)).toBe(false);
    expect(ignoresRootOverflow(iphone("17_4"), 5)).toBe(false);
    // Chrome on an iPhone is WebKit too.
    expect(ignoresRootOverflow("Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/103.0 Mobile/15E148 Safari/604.1", 5)).toBe(true);
    expect(ignoresRootOverflow("Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", 5)).toBe(true);
    // iPadOS asking for the desktop site: a Mac user agent with touch.
    const mac = (v: number) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v}.1 Safari/605.1.15`;
    expect(ignoresRootOverflow(mac(15), 5)).toBe(true);
    expect(ignoresRootOverflow(mac(16), 5)).toBe(false);
    expect(ignoresRootOverflow(mac(15), 0)).toBe(false); // a Mac
    expect(ignoresRootOverflow("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Mobile Safari/537.36", 5)).toBe(false);
  });
});
