import { ApiError, csrfToken, queryString } from '@/lib/api/client';

/** An API failure that keeps the envelope's `details` (field → message for 422 VALIDATION_FAILED). */
export class FieldApiError extends ApiError {
  constructor(base: ApiError, details: Record<string, string>) {
    super(base.status, base.code, base.message, base.traceId, base.rawDetails === undefined ? details : base.rawDetails);
  }
}

/** The `details` of a validation envelope as field → message (other shapes give an empty map). */
export function fieldErrors(error: unknown): Readonly<Record<string, string>> {
  return error instanceof FieldApiError ? error.details : {};
}

/**
 * A JSON request like the shared client's `request`, but a failure keeps the envelope's field details so a form can
 * show each message beside its field.
 */
export async function send<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  options: { query?: Record<string, string | number | boolean | undefined>; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  const response = await fetch(path + queryString(options.query), {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (!response.ok) {
    type Envelope = { error?: { code?: string; message?: string; details?: unknown; traceId?: string } };
    const body = (await response.json().catch(() => null)) as Envelope | null;
    const e = body?.error;
    const base = new ApiError(response.status, e?.code ?? `HTTP_${response.status}`, e?.message ?? (response.statusText || `HTTP ${response.status}`), e?.traceId, e?.details);
    const details: Record<string, string> = {};
    if (e?.details && typeof e.details === 'object' && !Array.isArray(e.details)) {
      for (const [k, v] of Object.entries(e.details as Record<string, unknown>)) if (typeof v === 'string') details[k] = v;
    }
    throw new FieldApiError(base, details);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export { E164 } from '@/lib/phone';

/** Splits a comma/space/newline separated list of numbers, trimming blanks. */
export function splitList(value: string): string[] {
  return value
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
