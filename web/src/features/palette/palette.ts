/** Pure helpers of the command palette (Ctrl/Cmd-K): shortcut, what the typed text searches, page matching, keyboard moves. */

/** A page the palette can jump to. */
export interface PalettePage {
  to: string;
  label: string;
}

/** What the palette searches the calls for: a number fragment (3+ digits), words (2+ letters), or nothing yet. */
export type PaletteSearch = { kind: 'number'; number: string } | { kind: 'text'; q: string } | null;

/** Ctrl-K (Windows, Linux) or Cmd-K (macOS), without Alt. */
export function isPaletteShortcut(e: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean }): boolean {
  return (e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k';
}

/** Lower case without accents, so "ané" finds "Analytique" and "Écoute" matches "ecoute". */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

const PHONE_LIKE = /^[\d\s()+.-]+$/;

/** Text that looks like a phone number searches by number (the API wants 3–20 digits); other text by words (name, transcript). */
export function paletteSearch(text: string): PaletteSearch {
  const t = text.trim();
  if (!t) return null;
  if (PHONE_LIKE.test(t)) {
    const digits = t.replace(/\D/g, '');
    return digits.length >= 3 ? { kind: 'number', number: digits.slice(0, 20) } : null;
  }
  const letters = t.replace(/[^\p{L}\p{N}]/gu, '');
  return letters.length >= 2 ? { kind: 'text', q: t.slice(0, 200) } : null;
}

/** The pages whose label contains the text (accents and case ignored); all of them for empty text. */
export function matchPages<P extends PalettePage>(pages: readonly P[], text: string): P[] {
  const f = fold(text);
  return f ? pages.filter((p) => fold(p.label).includes(f)) : [...pages];
}

/** The active option after a navigation key, wrapping around; unchanged for other keys. */
export function moveActive(active: number, count: number, key: string): number {
  if (count === 0) return -1;
  switch (key) {
    case 'ArrowDown':
      return active < 0 || active >= count - 1 ? 0 : active + 1;
    case 'ArrowUp':
      return active <= 0 ? count - 1 : active - 1;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return Math.min(active, count - 1);
  }
}
