import { pickLanguage, refusalNote, RTL, STRINGS, type Strings } from "./i18n";
import { CSS, PHONE } from "./styles";
import { readReply } from "./reply";
import { deliver } from "./deliver";
import { loadConfig } from "./config";
import { load, rememberOpen, save, storageKey, visitorId, wasOpen, type Saved } from "./session";
import { lockPageScroll } from "./scroll-lock";

/** `GET /widget/v1/config` (Switchboard.Widget.WidgetConfigDto). */
interface Config {
  tenantName: string;
  title: string | null;
  greeting: string | null;
  accentColor: string | null;
  position: string;
  avatarUrl: string | null;
  defaultLanguage: string;
  open: boolean;
  /** `chat`, and `voice` when the plan includes widget voice. */
  modes?: string[];
}

/** What dist/voice.js puts on `window.__switchboardVoice` (src/voice/voice.ts). */
type StartVoice = (o: {
  base: string;
  q: string;
  body: Record<string, unknown>;
  onState(state: string): void;
  onTranscript(role: "user" | "assistant", text: string): void;
}) => Promise<{ stop(): void }>;

interface Identity {
  name?: string;
  phone?: string;
}

type Command = "open" | "close" | "toggle" | "send" | "identify";

interface Api {
  open(): void;
  close(): void;
  toggle(): void;
  send(text: string): Promise<void>;
  identify(identity: Identity): void;
}

type Stub = ((...args: unknown[]) => void) & { q?: unknown[][] };

const w = window as unknown as { Switchboard?: Stub | Api };
const script = (document.currentScript ?? document.querySelector("script[data-key][src*='widget.js']")) as HTMLScriptElement | null;

/** Raises `switchboard:<name>` on the document (the host page listens there). */
function emit(name: "ready" | "message" | "lead" | "error" | "voice", detail: unknown): void {
  document.dispatchEvent(new CustomEvent("switchboard:" + name, { detail }));
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; // never innerHTML: visitor and model text are untrusted
  return e;
}

/**
 * A microphone drawn in SVG with the button's text colour (`currentColor`), 18×18 CSS px, hidden from assistive technology
 * (the button's `aria-label` names it). Paths from Lucide's "mic" icon (ISC licence), built with createElementNS: no markup.
 */
function micIcon(): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: "18", height: "18", fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", focusable: "false" }))
    svg.setAttribute(k, v);
  for (const d of ["M12 19v3", "M19 10v2a7 7 0 0 1-14 0v-2", "M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3Z"]) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

async function main(): Promise<void> {
  if (!script?.dataset.key) {
    console.warn("Switchboard widget: the script tag needs data-key=\"pk_live_…\".");
    return;
  }
  const key = script.dataset.key;
  const base = new URL(script.src, location.href).origin;
  const q = "?key=" + encodeURIComponent(key);
  // The server down when the page loads (a restart, a deploy) is tried again for a while, and at once when the browser
  // comes back online; a refused key or origin is answered readably (the refusal carries CORS) and ends it at once.
  let wake: (() => void) | null = null;
  const online = (): void => wake?.();
  window.addEventListener("online", online);
  const loaded = await loadConfig<Config>({
    fetch: () => fetch(base + "/widget/v1/config" + q, { mode: "cors", credentials: "omit" }),
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    onFirstFailure: (reason) => {
      console.warn("Switchboard widget: chat unavailable on this site for now (" + reason + ").");
      emit("error", { code: "UNAVAILABLE", retrying: true });
    },
  });
  window.removeEventListener("online", online);
  if (!loaded.ok) {
    // Refused, or still unreachable after the retries: one line, nothing rendered.
    console.warn(
      loaded.reason === "ORIGIN_NOT_ALLOWED"
        ? "Switchboard widget: " + location.origin + " is not one of this widget's allowed origins; add it on the dashboard's Widget page."
        : "Switchboard widget: chat unavailable on this site (" + loaded.reason + ").",
    );
    emit("error", { code: loaded.final ? loaded.reason : "UNAVAILABLE" });
    return;
  }
  const config = loaded.config;

  // data-lang, then the page's lang, then the business's language, then the browser's.
  const lang = pickLanguage([script.dataset.lang, document.documentElement.lang, config.defaultLanguage, ...navigator.languages]);
  const t: Strings = STRINGS[lang];
  const store = storageKey(key);
  let saved: Saved | null = load(sessionStorage, store, Date.now());
  let identity: Identity = {};
  let busy = false;

  const host = el("switchboard-widget" as "div");
  const shadow = host.attachShadow({ mode: "open" });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  shadow.adoptedStyleSheets = [sheet];
  const root = el("div", "root" + ((script.dataset.position ?? config.position) === "start" ? " start" : ""));
  root.dir = RTL.has(lang) ? "rtl" : "ltr";
  root.lang = lang;
  if (config.accentColor) root.style.setProperty("--sb-accent", config.accentColor);

  const launcher = el("button", "launcher", t.launcher);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  const panel = el("div", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", config.title ?? config.tenantName);
  launcher.setAttribute("aria-controls", "sb-panel");
  panel.id = "sb-panel";
  const head = el("div", "head");
  if (config.avatarUrl) {
    const img = el("img");
    img.alt = "";
    img.src = config.avatarUrl;
    head.append(img);
  }
  const closeButton = el("button", undefined, "×");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", t.close);
  head.append(el("h2", undefined, config.title ?? config.tenantName), closeButton);
  const log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  // In the Tab order between the header and the input: a long conversation scrolls from the keyboard (arrow keys), and
  // a screen reader user can go back over it (WCAG 2.1.1; axe's scrollable-region-focusable).
  log.tabIndex = 0;
  log.setAttribute("aria-label", t.messages);
  const form = el("form");
  const input = el("textarea");
  input.rows = 1;
  input.placeholder = t.placeholder;
  input.setAttribute("aria-label", t.placeholder);
  input.maxLength = 2000;
  const sendButton = el("button", undefined, t.send);
  sendButton.type = "submit";
  form.append(input, sendButton);
  // Voice (when the plan has it and data-mode is not "chat"): the voice chunk loads on the first click.
  // The icon is drawn, not an emoji: "🎙" needs an emoji font, and without one (many Linux desktops) it showed a stray glyph.
  const mic = el("button", "mic");
  mic.append(micIcon());
  mic.type = "button";
  mic.dataset.state = "ended";
  mic.setAttribute("aria-label", t.talk);
  mic.setAttribute("aria-pressed", "false");
  if (config.modes?.includes("voice") && script.dataset.mode !== "chat") form.append(mic);
  panel.append(head, log, form);
  // The open chat before its launcher in the DOM (both are fixed, so the order only sets the Tab order): Close, the
  // transcript, the input, Send and Talk, then the launcher; launcher first, Tab from it went to Close and from Talk out to
  // the page, past the chat's own launcher. A non-modal dialog: no focus trap, Escape closes it and focuses the launcher.
  root.append(panel, launcher);
  shadow.append(root);
  document.body.append(host);

  const bubble = (role: "user" | "assistant" | "note", text: string): HTMLDivElement => {
    const b = el("div", "msg " + role, text);
    // Each message in its own direction (its first strong letter): a French answer on an Arabic page keeps its "?" at the end.
    b.dir = "auto";
    log.append(b);
    log.scrollTop = log.scrollHeight;
    return b;
  };
  bubble("assistant", config.greeting ?? t.greeting);

  // On a phone the open chat covers the screen (styles.ts, PHONE): a modal dialog there, whose launcher is out of the
  // layout, so Tab wraps round the chat instead of reaching the launcher or the page, neither of which can be seen
  // (WCAG 2.4.3 Focus Order, 2.4.11 Focus Not Obscured); wider, it is non-modal beside the page and the launcher.
  // The page under a modal chat does not scroll either (scroll-lock.ts), only while the chat is open and modal.
  const phone = window.matchMedia(PHONE);
  let unlock: (() => void) | null = null;
  const lock = (): void => {
    if (phone.matches && !panel.hidden) unlock ??= lockPageScroll();
    else {
      unlock?.();
      unlock = null;
    }
  };
  const modal = (): void => {
    if (phone.matches) panel.setAttribute("aria-modal", "true");
    else panel.removeAttribute("aria-modal");
    lock();
  };
  modal();
  phone.addEventListener("change", modal);

  const openKey = store + ":open";
  // `focus`: the visitor opened it (the launcher, the host page's Switchboard("open")), so the box takes the focus; a chat
  // shown again on a new page leaves the focus to the page.
  const show = (focus: boolean): void => {
    panel.hidden = false;
    lock();
    launcher.setAttribute("aria-expanded", "true");
    rememberOpen(sessionStorage, openKey, true);
    if (focus) input.focus();
  };
  const open = (): void => show(true);
  const close = (): void => {
    panel.hidden = true;
    lock();
    launcher.setAttribute("aria-expanded", "false");
    rememberOpen(sessionStorage, openKey, false);
    launcher.focus();
  };
  const toggle = (): void => (panel.hidden ? open() : close());
  launcher.addEventListener("click", toggle);
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
    if (e.key !== "Tab" || !phone.matches) return;
    const stops = [...panel.querySelectorAll<HTMLElement>("button:not(:disabled), textarea, [tabindex='0']")];
    const first = stops[0];
    const last = stops[stops.length - 1];
    const from = shadow.activeElement;
    if (e.shiftKey ? from === first : from === last) {
      e.preventDefault();
      (e.shiftKey ? last : first)?.focus();
    }
  });

  const post = (path: string, body: unknown, token?: string): Promise<Response> =>
    fetch(base + "/widget/v1" + path + q, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "content-type": "application/json", accept: "text/event-stream, application/json", ...(token ? { authorization: "Bearer " + token } : {}) },
      body: JSON.stringify(body),
    });

  const start = async (): Promise<Saved> => {
    const response = await post("/conversations", {
      visitorId: visitorId((n) => crypto.getRandomValues(new Uint8Array(n))),
      language: lang,
      pageUrl: location.href,
      referrer: document.referrer || null,
      name: identity.name ?? null,
      phone: identity.phone ?? null,
    });
    if (!response.ok) throw new Error(String(response.status));
    const started = (await response.json()) as { id: string; token: string };
    saved = { id: started.id, token: started.token, at: Date.now() };
    save(sessionStorage, store, saved);
    return saved;
  };

  // A conversation from an earlier page of this tab: show it again.
  if (saved) {
    try {
      const response = await fetch(base + "/widget/v1/conversations/" + saved.id + q, { mode: "cors", credentials: "omit", headers: { authorization: "Bearer " + saved.token } });
      const resumed = response.ok ? ((await response.json()) as { closed: boolean; messages: { role: "user" | "assistant"; text: string }[] }) : null;
      if (resumed && !resumed.closed) {
        for (const m of resumed.messages) bubble(m.role, m.text);
        // Shown again open only if the visitor left it open: one who closed it (on a phone, to read the page under the
        // full-screen chat) was met by it again on every page, with the focus taken from the page.
        if (resumed.messages.length > 0 && wasOpen(sessionStorage, openKey)) show(false);
      } else {
        saved = null;
      }
    } catch {
      saved = null;
    }
  }

  // What is typed reads in its own direction (French on an Arabic page); the empty box keeps the page's, for its placeholder.
  const setInput = (value: string): void => {
    if (input.value !== value) input.value = value;
    if (value.trim()) input.dir = "auto";
    else input.removeAttribute("dir");
  };

  // A message that got no answer: shown struck through, and put back in the box (unless something new was typed there).
  const unsent = (mine: HTMLDivElement, text: string): void => {
    mine.classList.add("failed");
    if (!input.value) setInput(text);
  };

  const send = async (raw: string): Promise<void> => {
    const text = raw.trim();
    if (!text || busy) return;
    if (text.length > 2000) {
      bubble("note", t.tooLong);
      return;
    }
    busy = true;
    sendButton.disabled = true;
    const mine = bubble("user", text);
    emit("message", { role: "user", text });
    let answer: HTMLDivElement | null = null;
    // Shown from the moment the message leaves until the answer's first words (or a failure): the visitor sees that an
    // answer is coming, and a screen reader hears it once (the log is a polite live region).
    const typing = el("div", "msg typing");
    typing.append(el("span", "sr", t.typing));
    for (let i = 0; i < 3; i++) {
      const dot = el("span", "dot");
      dot.setAttribute("aria-hidden", "true");
      typing.append(dot);
    }
    log.append(typing);
    log.scrollTop = log.scrollHeight;
    try {
      const { response, conversation, code } = await deliver(text, saved, {
        post: (c, body) => post("/conversations/" + c.id + "/messages", { text: body }, c.token),
        start,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        // Another tab's message is still being answered: this one waits its turn, shown as pending.
        onBusy: () => mine.classList.add("pending"),
      });
      mine.classList.remove("pending");
      if (!response.ok || !response.body) {
        typing.remove();
        bubble("note", refusalNote(t, response.status, code));
        emit("error", { status: response.status, ...(code ? { code } : {}) });
        // Refused (busy, rate-limited, or any other refusal): never answered, so the visitor can send it again.
        unsent(mine, text);
        return;
      }
      let full = "";
      const end = await readReply(response.body, {
        delta: (piece) => {
          if (!answer) {
            typing.remove();
            // The answer streams in pieces: announced once, whole, when the log is no longer busy.
            log.setAttribute("aria-busy", "true");
            answer = bubble("assistant", "");
          }
          full += piece;
          answer.textContent = full;
          log.scrollTop = log.scrollHeight;
        },
        lead: (data) => emit("lead", data),
        error: (data) => {
          typing.remove();
          bubble("note", t.error);
          emit("error", data);
        },
      });
      conversation.at = Date.now();
      save(sessionStorage, store, conversation);
      typing.remove();
      if (end === "cut") {
        // The connection dropped (or the server restarted) before the answer's end: say so instead of showing a part as
        // the whole answer. The message itself reached the server, so it is not marked as unsent.
        bubble("note", t.cut);
        emit("error", { code: "REPLY_CUT" });
        return;
      }
      emit("message", { role: "assistant", text: full });
    } catch (e) {
      mine.classList.remove("pending");
      typing.remove();
      bubble("note", t.error);
      emit("error", { message: e instanceof Error ? e.message : "error" });
      // The network failed before any answer (offline, server down): keep what was typed so it is not lost.
      unsent(mine, text);
    } finally {
      typing.remove();
      log.removeAttribute("aria-busy");
      busy = false;
      sendButton.disabled = false;
    }
  };

  let call: { stop(): void } | null = null;
  let loading: Promise<StartVoice> | null = null;
  const loadVoice = (): Promise<StartVoice> =>
    (loading ??= new Promise<StartVoice>((resolve, reject) => {
      const tag = el("script");
      tag.src = base + "/widget/voice.js";
      tag.onload = () => {
        const start = (window as unknown as { __switchboardVoice?: StartVoice }).__switchboardVoice;
        if (start) resolve(start);
        else reject(new Error("voice"));
      };
      tag.onerror = () => {
        loading = null;
        reject(new Error("voice"));
      };
      document.head.append(tag);
    }));
  const voiceState = (state: string): void => {
    mic.dataset.state = state;
    mic.setAttribute("aria-pressed", String(state !== "ended"));
    mic.setAttribute("aria-label", state === "ended" ? t.talk : t.hangUp);
    if (state === "ended") call = null;
    emit("voice", { state });
  };
  mic.addEventListener("click", () => {
    if (mic.dataset.state !== "ended") {
      call?.stop();
      return;
    }
    voiceState("connecting");
    void (async () => {
      try {
        const start = await loadVoice();
        call = await start({
          base,
          q,
          body: { visitorId: visitorId((n) => crypto.getRandomValues(new Uint8Array(n))), language: lang, pageUrl: location.href, referrer: document.referrer || null },
          onState: voiceState,
          onTranscript: (role, text) => {
            bubble(role, text);
            emit("message", { role, text, voice: true });
          },
        });
      } catch (e) {
        // Refused microphone, no voice in the plan, or a failure: the chat goes on in text.
        voiceState("ended");
        bubble("note", e === "MIC_DENIED" ? t.micDenied : t.voiceOff);
        emit("error", { code: typeof e === "string" ? e : "VOICE_FAILED" });
        input.focus();
      }
    })();
  });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    // While a message is being sent or answered, a second Enter or click keeps what was typed instead of dropping it.
    if (busy) return;
    const text = input.value;
    setInput("");
    void send(text);
  });
  input.addEventListener("input", () => setInput(input.value));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  const api: Api = {
    open,
    close,
    toggle,
    send: (text: string) => {
      open();
      return send(text);
    },
    identify: (who: Identity) => {
      identity = { ...identity, ...who };
    },
  };
  const queued = (w.Switchboard as Stub | undefined)?.q ?? [];
  const callable = Object.assign((command: Command, arg?: unknown) => {
    const fn = api[command] as ((x?: unknown) => unknown) | undefined;
    if (typeof fn === "function") void fn(arg);
  }, api);
  w.Switchboard = callable;
  for (const [command, arg] of queued) callable(command as Command, arg);
  emit("ready", { language: lang });
}

void main();
