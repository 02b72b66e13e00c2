import { useTranslation } from 'react-i18next';
import { useSession } from '@/lib/session';
import { useResendVerification } from './api';
import { accountError } from './errors';

/** A quiet reminder while the email is unverified (it does not block anything), with a resend button. */
export function VerifyBanner() {
  const { t } = useTranslation();
  const session = useSession();
  const resend = useResendVerification();
  if (!session.user || session.user.emailVerified) return null;
  return (
    <div className="flex flex-wrap items-center gap-2 border-b border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
      <span>{t('account.verify.banner')}</span>
      {resend.isSuccess ? (
        <span role="status">{t('account.verify.resent')}</span>
      ) : (
        <button type="button" className="font-medium underline underline-offset-2" disabled={resend.isPending} onClick={() => resend.mutate()}>
          {t('account.verify.resend')}
        </button>
      )}
      {resend.error ? <span role="alert">{accountError(t, resend.error)}</span> : null}
    </div>
  );
}
