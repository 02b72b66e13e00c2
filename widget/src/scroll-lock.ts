/** The inline properties of the host page's root element that the lock sets, each restored as the page had it. */
const LOCKED = ["overflow-x", "overflow-y", "scrollbar-gutter"] as const;

/**
 * Stops the host page from scrolling under the chat while the chat is a full-screen modal on a phone (styles.ts, PHONE):
 * without it a swipe or a wheel over the chat scrolled the page behind it, and the visitor came back to another place.
 * `overflow: hidden` on the root element stops user scrolling of the viewport (touch, wheel, keys; CSS Overflow 3 §3:
 * the content is still scrollable by script only), while keeping its scroll offset. Where the page had a classic
 * scrollbar, `scrollbar-gutter: stable` keeps its space (CSS Overflow 3 §4.1: the gutter is kept for `overflow: hidden`),
 * so nothing moves sideways. The returned function restores exactly what the page had: each property's inline value and
 * priority (or its absence), and the scroll position should anything have moved it.
 */
export function lockPageScroll(doc: Document = document): () => void {
  const root = doc.documentElement;
  const view = doc.defaultView;
  const before = LOCKED.map((name) => [name, root.style.getPropertyValue(name), root.style.getPropertyPriority(name)] as const);
  const x = view?.scrollX ?? 0;
  const y = view?.scrollY ?? 0;
  // A classic (space-taking) scrollbar: the window is wider than the root's content box by its width.
  const scrollbar = view !== null && view.innerWidth - root.clientWidth > 0;
  root.style.setProperty("overflow-x", "hidden", "important");
  root.style.setProperty("overflow-y", "hidden", "important");
  if (scrollbar) root.style.setProperty("scrollbar-gutter", "stable", "important");
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const [name, value, priority] of before) {
      if (value) root.style.setProperty(name, value, priority);
      else root.style.removeProperty(name);
    }
    if (view && (view.scrollX !== x || view.scrollY !== y)) view.scrollTo(x, y);
  };
}
