import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

/** The error envelope every Switchboard endpoint answers with: {"error":{"code","message","details","traceId"}}. */
export interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown; traceId?: string };
}

/** An API failure carrying the envelope's code and message (shown to the user as is). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly traceId: string | undefined;
  /**
   * Field → problem, from a 400/422 envelope's `details` (e.g. `{ email: "must be a valid email address" }`); empty otherwise:
   * other refusals' details are data, not fields (403 FEATURE_NOT_IN_PLAN `{ feature, plan }`, 409 DUPLICATE_DOCUMENT
   * `{ documentId }`), and were listed under the message as "feature: webhooks", "plan: free".
   */
  readonly details: Readonly<Record<string, string>>;
  /** The envelope's `details` as sent (e.g. `{ limit: 120, windowSeconds: 60 }` for RATE_LIMITED); undefined when absent. */
  readonly rawDetails: unknown;

  constructor(status: number, code: string, message: string, traceId?: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.traceId = traceId;
    this.details = status === 400 || status === 422 ? fieldDetails(details) : {};
    this.rawDetails = details;
  }
}

/** Keeps the string entries of an envelope's `details` object (field → problem); anything else gives no entries. */
export function fieldDetails(details: unknown): Readonly<Record<string, string>> {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return {};
  const out: Record<string, string> = {};
  for (const [field, problem] of Object.entries(details as Record<string, unknown>)) {
    if (typeof problem === 'string' && problem.trim() !== '') out[field] = problem;
  }
  return out;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Reads the readable `sb_csrf` cookie the host sets at sign-in. */
export function csrfToken(cookie: string = typeof document === 'undefined' ? '' : document.cookie): string | null {
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'sb_csrf') return decodeURIComponent(rest.join('='));
  }
  return null;
}

/** Turns any failed response into an {@link ApiError}, using the envelope when there is one. */
export async function toApiError(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    body = null;
  }
  const envelope = body as Partial<ErrorEnvelope> | null;
  if (envelope?.error?.code) {
    return new ApiError(response.status, envelope.error.code, envelope.error.message ?? envelope.error.code, envelope.error.traceId, envelope.error.details);
  }
  return new ApiError(response.status, `HTTP_${response.status}`, response.statusText || `HTTP ${response.status}`);
}

/** Listeners told about a 401 (the session ended): the app sends the user to sign-in. */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

const middleware: Middleware = {
  onRequest({ request }) {
    if (UNSAFE.has(request.method)) {
      const token = csrfToken();
      if (token) request.headers.set('X-CSRF-Token', token);
    }
    return request;
  },
  async onResponse({ response, request }) {
    if (response.ok) return response;
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/api/v1/auth/login')) {
      unauthorizedListeners.forEach((l) => l());
    }
    throw await toApiError(response);
  },
};

/** The typed client over the committed OpenAPI snapshot; same-origin cookies, CSRF header, envelope errors thrown. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(middleware);

/** Unwraps an openapi-fetch result whose errors were already thrown by the middleware. */
export function data<T>(result: { data?: T }): T {
  if (result.data === undefined) throw new ApiError(0, 'EMPTY_RESPONSE', 'Empty response');
  return result.data;
}

type QueryValue = string | number | boolean | null | undefined;

/** Builds "?a=1&b=x" from defined, non-empty values. */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * A JSON request for endpoints of the dashboard contract that the committed OpenAPI snapshot does not describe
 * yet (same cookies, CSRF header and envelope errors as {@link api}). The caller states the response type.
 */
export async function request<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  options: { query?: Record<string, QueryValue>; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method)) {
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
    if (response.status === 401) unauthorizedListeners.forEach((l) => l());
    throw await toApiError(response);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
