/** A conversation kept per tab (sessionStorage) so it survives page navigation. */
export interface Saved {
  id: string;
  token: string;
  at: number;
}

/** A conversation idle this long (ms) is not resumed: the server closes it after the same time. */
export const IDLE_MS = 30 * 60 * 1000;

export function storageKey(publishableKey: string): string {
  return "switchboard:" + publishableKey.slice(0, 16);
}

/** The saved conversation when still fresh at `now` (ms), else null (and it is forgotten). */
export function load(storage: Pick<Storage, "getItem" | "removeItem">, key: string, now: number): Saved | null {
  try {
    const raw = storage.getItem(key);
    if (!raw) return null;
    const saved = JSON.parse(raw) as Partial<Saved>;
    if (typeof saved.id === "string" && typeof saved.token === "string" && typeof saved.at === "number" && now - saved.at < IDLE_MS) {
      return { id: saved.id, token: saved.token, at: saved.at };
    }
    storage.removeItem(key);
  } catch {
    // Storage refused (privacy mode) or corrupt: start afresh.
  }
  return null;
}

export function save(storage: Pick<Storage, "setItem">, key: string, saved: Saved): void {
  try {
    storage.setItem(key, JSON.stringify(saved));
  } catch {
    // Storage refused: the conversation lasts as long as the page.
  }
}

/**
 * Whether the chat was left open in this tab (`open` under `key`): a resumed conversation is shown open again only then,
 * so a visitor who closed it is not met by it on every page, nor by a full-screen chat on a phone. False when unknown.
 */
export function wasOpen(storage: Pick<Storage, "getItem">, key: string): boolean {
  try {
    return storage.getItem(key) === "1";
  } catch {
    return false;
  }
}

/** Records whether the chat is open in this tab (see {@link wasOpen}). */
export function rememberOpen(storage: Pick<Storage, "setItem">, key: string, open: boolean): void {
  try {
    storage.setItem(key, open ? "1" : "0");
  } catch {
    // Storage refused: a resumed conversation stays closed.
  }
}

/** A random visitor id for this tab: 20 base-36 characters. */
export function visitorId(random: (n: number) => Uint8Array): string {
  return Array.from(random(20), (b) => (b % 36).toString(36)).join("");
}
