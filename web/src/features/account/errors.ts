import type { TFunction } from 'i18next';
import { ApiError } from '@/lib/api/client';

/** The message to show for an account API failure: a translated sentence for the codes users meet, else the server's message. */
export function accountError(t: TFunction, error: unknown): string | null {
  if (!error) return null;
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'ACCOUNT_LOCKED':
        return t('account.errors.locked');
      case 'RATE_LIMITED':
      case 'TOO_MANY_EMAILS':
        return t('account.errors.rateLimited');
      case 'INVALID_CREDENTIALS':
        return t('account.errors.invalidCredentials');
      case 'EMAIL_TAKEN':
        return t('account.errors.emailTaken');
      case 'TOKEN_INVALID':
        return t('account.errors.tokenInvalid');
      case 'INVITATION_NOT_FOUND':
        return t('account.errors.invitationNotFound');
      case 'VALIDATION_FAILED':
        return error.message === 'Some fields are invalid.' ? t('errors.validation') : error.message;
      default:
        return error.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

/** Same-origin path to go to after signing in: only "/…" (never "//host"), else "/". */
export function safeRedirect(target: string | undefined): string {
  return target && target.startsWith('/') && !target.startsWith('//') ? target : '/';
}
