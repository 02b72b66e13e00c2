import { ApiError } from './api/client';

/**
 * True for a request that never got an answer: the server is stopped, the network is down, or a proxy dropped it.
 * `fetch` rejects with a TypeError then ("Failed to fetch" in Chromium, "NetworkError when attempting to fetch
 * resource." in Firefox, "Load failed" in Safari); other TypeErrors are bugs and keep their own message.
 */
export function isUnreachable(error: unknown): boolean {
  return error instanceof TypeError && /failed to fetch|networkerror|load failed|network request failed/i.test(error.message);
}

/**
 * The sentence shown for a failed request: a translated one when the server could not be reached or answered 5xx
 * without Switchboard's error envelope (a proxy's "Bad Gateway" page), else the envelope's own message.
 */
export function errorText(error: unknown, t: (key: string) => string): string {
  if (isUnreachable(error)) return t('errors.unreachable');
  if (error instanceof ApiError && /^HTTP_5\d\d$/.test(error.code)) return t('errors.serverUnavailable');
  if (error instanceof ApiError && error.code === 'VALIDATION_FAILED') {
    // The server's two summaries of a 422 (Platform/Http/Validation.cs, onboarding); each field's problem is shown beside it.
    if (error.message === 'Some fields are invalid.') return t('errors.validation');
    if (error.message === 'The profile is invalid.') return t('errors.profileInvalid');
  }
  return error instanceof Error ? error.message : String(error);
}
