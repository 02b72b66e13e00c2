/** The inline properties of the host page's root element that the lock sets, each restored as the page had it. */
const LOCKED = ["overflow-x", "overflow-y", "scrollbar-gutter"] as const;

/** The inline properties of the host page's body that the fixed-body fallback sets, each restored as the page had it. */
const FIXED = ["position", "top", "left", "width"] as const;

type Saved = (readonly [name: string, value: string, priority: string])[];

/** One document's lock while any holder keeps it: how many holders, and how to give the page back. */
interface Held {
  count: number;
  restore: () => void;
}

const held = new WeakMap<Document, Held>();

/** Options of {@link lockPageScroll}. */
export interface LockOptions {
  /**
   * Also fix the body in place (`position: fixed; top: -scrollY; width: 100%`), for browsers that ignore `overflow:
   * hidden` on the root for touch scrolling: iOS Safari before 16 (and every iOS browser, all WebKit). Defaults to
   * {@link ignoresRootOverflow} of the document's navigator.
   */
  fixBody?: boolean;
}

/**
 * Whether this browser scrolls the page on a swipe even with `overflow: hidden` on the root: WebKit on iOS/iPadOS before
 * 16 (WebKit bug 153852, fixed in Safari 16). Every iOS browser is WebKit and names the OS version ("CPU iPhone OS 15_5
 * like Mac OS X", "CPU OS 12_2" on an iPad); iPadOS 13 and later asks for desktop sites with a Macintosh user agent,
 * told apart by its touch points, whose Safari `Version/` is the OS's.
 */
export function ignoresRootOverflow(userAgent: string, maxTouchPoints: number): boolean {
  const ios = /\b(?:iPhone|iPad|iPod)\b.*?\bOS (\d+)_/.exec(userAgent);
  if (ios) return Number(ios[1]) < 16;
  if (/\bMacintosh\b/.test(userAgent) && maxTouchPoints > 1) {
    const version = /\bVersion\/(\d+)/.exec(userAgent);
    return version !== null && Number(version[1]) < 16;
  }
  return false;
}

function save(style: CSSStyleDeclaration, names: readonly string[]): Saved {
  return names.map((name) => [name, style.getPropertyValue(name), style.getPropertyPriority(name)] as const);
}

function put(style: CSSStyleDeclaration, saved: Saved): void {
  for (const [name, value, priority] of saved) {
    if (value) style.setProperty(name, value, priority);
    else style.removeProperty(name);
  }
}

/**
 * Stops the host page from scrolling under the chat while the chat is a full-screen modal on a phone (styles.ts, PHONE):
 * without it a swipe or a wheel over the chat scrolled the page behind it, and the visitor came back to another place.
 * `overflow: hidden` on the root element stops user scrolling of the viewport (touch, wheel, keys; CSS Overflow 3 §3:
 * the content is still scrollable by script only), while keeping its scroll offset. Where the page had a classic
 * scrollbar, `scrollbar-gutter: stable` keeps its space (CSS Overflow 3 §4.1: the gutter is kept for `overflow: hidden`),
 * so nothing moves sideways. iOS Safari before 16 ignores that for a swipe ({@link ignoresRootOverflow}): there the body
 * is also fixed where it stood (`position: fixed`, `top` and `left` the negated scroll offsets, `width: 100%`), which
 * resets the page's scroll offset to 0 until the unlock scrolls it back.
 *
 * Locks are counted per document: the page is locked by the first and given back by the last of them to be released.
 * Each returned function releases its own lock once (later calls do nothing). Giving the page back restores exactly what
 * it had: each property's inline value and priority (or its absence), and the scroll position, instantly (a page with
 * `scroll-behavior: smooth` does not glide back) should anything have moved it.
 */
export function lockPageScroll(doc: Document = document, options: LockOptions = {}): () => void {
  let lock = held.get(doc);
  if (lock) lock.count++;
  else {
    lock = { count: 1, restore: apply(doc, options) };
    held.set(doc, lock);
  }
  const mine = lock;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--mine.count > 0) return;
    held.delete(doc);
    mine.restore();
  };
}

/** Locks `doc`'s page scroll and returns how to give it back (see {@link lockPageScroll}). */
function apply(doc: Document, options: LockOptions): () => void {
  const root = doc.documentElement;
  const body: HTMLElement | null = doc.body;
  const view = doc.defaultView;
  const nav = view?.navigator;
  const fixBody = body !== null && (options.fixBody ?? (nav ? ignoresRootOverflow(nav.userAgent, nav.maxTouchPoints ?? 0) : false));
  const rootBefore = save(root.style, LOCKED);
  const bodyBefore = fixBody && body ? save(body.style, FIXED) : [];
  const x = view?.scrollX ?? 0;
  const y = view?.scrollY ?? 0;
  // A classic (space-taking) scrollbar: the window is wider than the root's content box by its width.
  const scrollbar = view !== null && view.innerWidth - root.clientWidth > 0;
  root.style.setProperty("overflow-x", "hidden", "important");
  root.style.setProperty("overflow-y", "hidden", "important");
  if (scrollbar) root.style.setProperty("scrollbar-gutter", "stable", "important");
  if (fixBody && body) {
    body.style.setProperty("position", "fixed", "important");
    body.style.setProperty("top", `${-y}px`, "important");
    body.style.setProperty("left", `${-x}px`, "important");
    body.style.setProperty("width", "100%", "important");
  }
  return () => {
    if (fixBody && body) put(body.style, bodyBefore);
    put(root.style, rootBefore);
    if (view && (view.scrollX !== x || view.scrollY !== y)) view.scrollTo({ left: x, top: y, behavior: "instant" });
  };
}
