import type { Saved } from "./session";

/** The 409 code of a conversation that is over (ended, or idle too long): a new conversation carries on. */
export const CONVERSATION_CLOSED = "CONVERSATION_CLOSED";

/** The 409 code of a conversation still answering an earlier message (e.g. from another tab): the same message is sent again later. */
export const CONVERSATION_BUSY = "CONVERSATION_BUSY";

/** The waits (ms) before each new attempt while the conversation is busy: five retries, about 15 s in all, then the widget gives up. */
export const BUSY_RETRY_MS: readonly number[] = [500, 1000, 2000, 4000, 8000];

/** What {@link deliver} needs from the widget: the HTTP calls and a timer, injected so the policy is testable without a browser. */
export interface DeliverDeps {
  /** `POST /conversations/{id}/messages` with `{ text }` and the conversation's bearer token. */
  post(conversation: Saved, text: string): Promise<Response>;
  /** Starts a new conversation (and remembers it for the tab). */
  start(): Promise<Saved>;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
  /** Called before each wait while the conversation is busy: `retry` counts from 1. */
  onBusy?(retry: number): void;
}

/** The outcome of {@link deliver}: the last response and the conversation it belongs to. */
export interface Delivery {
  /** The answer stream when `response.ok`; otherwise a refusal whose body has been read when its status is 409. */
  response: Response;
  conversation: Saved;
  /** The refusal's `error.code` when the server sent one with a 409, else null. */
  code: string | null;
}

/** The `error.code` of an error envelope (`{"error":{"code":…}}`), or null when the body is not one. */
export async function errorCode(response: Response): Promise<string | null> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown } } | null;
    return typeof body?.error?.code === "string" ? body.error.code : null;
  } catch {
    return null;
  }
}

/**
 * Sends one visitor message on `conversation` (or a new one when there is none). A conversation the server no longer
 * has or accepts (401, 404, or 409 {@link CONVERSATION_CLOSED}) is replaced once by a new conversation. A 409
 * {@link CONVERSATION_BUSY} (another tab's message is still being answered) keeps the conversation and sends the same
 * message again after each of `delays`; when those run out, the busy refusal is returned. Any other refusal is
 * returned as it is.
 */
export async function deliver(text: string, conversation: Saved | null, deps: DeliverDeps, delays: readonly number[] = BUSY_RETRY_MS): Promise<Delivery> {
  let current = conversation ?? (await deps.start());
  let restarted = false;
  let retries = 0;
  for (;;) {
    const response = await deps.post(current, text);
    if (response.ok) return { response, conversation: current, code: null };
    const code = response.status === 409 ? await errorCode(response) : null;
    if (code === CONVERSATION_BUSY && retries < delays.length) {
      deps.onBusy?.(retries + 1);
      await deps.sleep(delays[retries++]);
      continue;
    }
    if (!restarted && (response.status === 401 || response.status === 404 || code === CONVERSATION_CLOSED)) {
      // Closed after 30 idle minutes (or forgotten): a new conversation carries on.
      current = await deps.start();
      restarted = true;
      continue;
    }
    return { response, conversation: current, code };
  }
}
