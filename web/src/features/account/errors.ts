import type { TFunction } from 'i18next';
import { ApiError } from '@/lib/api/client';
import { errorText } from '@/lib/error-text';

/**
 * The message to show for an account API failure: a rate limit in the account pages' words ("too many attempts"),
 * anything else as {@link errorText} says it (a translation of the code users meet, else the server's message).
 */
export function accountError(t: TFunction, error: unknown): string | null {
  if (!error) return null;
  if (error instanceof ApiError && error.code === 'RATE_LIMITED') return t('account.errors.rateLimited');
  return errorText(error, t);
}

/** Same-origin path to go to after signing in: only "/…" (never "//host"), else "/". */
export function safeRedirect(target: string | undefined): string {
  return target && target.startsWith('/') && !target.startsWith('//') ? target : '/';
}
