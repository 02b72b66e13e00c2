import { useEffect, useRef } from 'react';
import { Link, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { ErrorMessage } from '@/components/ui/ui';
import { AuthCard, linkClass, Notice } from './auth-card';
import { useVerifyEmail } from './api';
import { accountError } from './errors';

/** Confirms the email with the mailed token as soon as the page opens. */
export function VerifyEmailPage() {
  const { t } = useTranslation();
  const { token } = useSearch({ from: '/verify-email' });
  const verify = useVerifyEmail();
  const sent = useRef(false);
  useEffect(() => {
    if (token && !sent.current) {
      sent.current = true;
      verify.mutate(token);
    }
  }, [token, verify]);
  return (
    <AuthCard title={t('account.verify.title')}>
      <div className="flex flex-col gap-3">
        {!token ? <ErrorMessage error={t('account.errors.tokenInvalid')} /> : null}
        {verify.isPending ? <p role="status">{t('account.working')}</p> : null}
        {verify.isSuccess ? <Notice>{t('account.verify.done', { email: verify.data.email })}</Notice> : null}
        <ErrorMessage error={accountError(t, verify.error)} />
        <Link to="/" className={linkClass}>
          {t('account.verify.continue')}
        </Link>
      </div>
    </AuthCard>
  );
}
