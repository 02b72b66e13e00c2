import { useState, type FormEvent } from 'react';
import { Link, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button, ErrorMessage, Field, inputClass, useFieldProblems } from '@/components/ui/ui';
import { AuthCard, linkClass, Notice } from './auth-card';
import { useConfirmReset } from './api';
import { accountError } from './errors';

/** Sets a new password with the mailed token; afterwards every session is signed out and the user signs in again. */
export function ResetPasswordPage() {
  const { t } = useTranslation();
  const { token } = useSearch({ from: '/reset-password' });
  const confirm = useConfirmReset();
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const problem = useFieldProblems(confirm.error);
  const mismatch = again.length > 0 && again !== password;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    confirm.mutate({ token: token ?? '', password });
  };
  return (
    <AuthCard title={t('account.reset.title')}>
      {confirm.isSuccess ? (
        <div className="flex flex-col gap-3">
          <Notice>{t('account.reset.done')}</Notice>
          <Link to="/sign-in" search={{}} className={linkClass}>
            {t('account.signIn.link')}
          </Link>
        </div>
      ) : !token ? (
        <div className="flex flex-col gap-3">
          <ErrorMessage error={t('account.errors.tokenInvalid')} />
          <Link to="/forgot-password" className={linkClass}>
            {t('account.reset.askAgain')}
          </Link>
        </div>
      ) : (
        <form onSubmit={submit} className="flex flex-col gap-3">
          <Field label={t('account.reset.newPassword')} error={problem('password')}>
            <input className={inputClass} type="password" required minLength={10} maxLength={128} autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </Field>
          <Field label={t('account.reset.confirmPassword')}>
            <input className={inputClass} type="password" required autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} aria-invalid={mismatch} />
          </Field>
          <p className="text-xs text-slate-600 dark:text-slate-400">{t('account.passwordHint')}</p>
          <ErrorMessage error={mismatch ? t('account.reset.mismatch') : accountError(t, confirm.error)} details={mismatch ? undefined : confirm.error} shownFields={['password']} />
          <Button type="submit" variant="primary" disabled={confirm.isPending || mismatch}>
            {confirm.isPending ? t('account.working') : t('account.reset.submit')}
          </Button>
          {confirm.error ? (
            <Link to="/forgot-password" className={linkClass}>
              {t('account.reset.askAgain')}
            </Link>
          ) : null}
        </form>
      )}
    </AuthCard>
  );
}
