/** The waits (ms) before each new attempt to load the widget's configuration while the server cannot be reached: about two minutes in all. */
export const CONFIG_RETRY_MS: readonly number[] = [2000, 4000, 8000, 15000, 30000, 60000];

/** What {@link loadConfig} needs from the page, injected so the policy is testable without a browser. */
export interface ConfigDeps {
  /** `GET /widget/v1/config?key=…`; rejects when the network fails (server down, offline, or an origin refused without a CORS grant). */
  fetch(): Promise<Response>;
  /** Resolves after `ms` milliseconds, or earlier (e.g. when the browser comes back online). */
  sleep(ms: number): Promise<void>;
  /** Called once, at the first failure that will be retried: the page can be told the chat is not there yet. */
  onFirstFailure?(reason: string): void;
}

/**
 * The outcome of {@link loadConfig}: the configuration, or why there is none. `reason` is the server's error code when the
 * refusal could be read (`ORIGIN_NOT_ALLOWED`, `INVALID_KEY`, `FEATURE_NOT_IN_PLAN`, `TENANT_SUSPENDED`), else the HTTP
 * status or the network error's message; `final` is true for a refusal the server answered (no retry can change it).
 */
export type ConfigResult<T> = { ok: true; config: T } | { ok: false; reason: string; final: boolean };

/** True for a status worth another try: the server or a proxy in front of it is down or overloaded (5xx, 408, 429). */
function transient(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * Loads the configuration, trying again after each of `delays` while the server cannot be reached (a network error, 5xx,
 * 408, 429): a page opened while the server restarts gets its launcher once the server is back instead of never. A refusal
 * that was read (401 key, 403 origin, plan or suspended tenant) is final: the server answers those with
 * `Access-Control-Allow-Origin: *` so that a refused site reads them instead of seeing a network error.
 */
export async function loadConfig<T>(deps: ConfigDeps, delays: readonly number[] = CONFIG_RETRY_MS): Promise<ConfigResult<T>> {
  for (let attempt = 0; ; attempt++) {
    let reason: string;
    try {
      const response = await deps.fetch();
      if (response.ok) return { ok: true, config: (await response.json()) as T };
      reason = String(response.status);
      if (!transient(response.status)) return { ok: false, reason: (await errorCode(response)) ?? reason, final: true };
    } catch (e) {
      reason = e instanceof Error ? e.message : "error";
    }
    if (attempt >= delays.length) return { ok: false, reason, final: false };
    if (attempt === 0) deps.onFirstFailure?.(reason);
    await deps.sleep(delays[attempt]);
  }
}

/** The `error.code` of an error envelope (`{"error":{"code":…}}`), or null when the body is not one. */
async function errorCode(response: Response): Promise<string | null> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown } } | null;
    const code = body?.error?.code;
    return typeof code === "string" && /^[A-Z_]{1,64}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}
