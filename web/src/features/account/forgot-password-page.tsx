import { useState, type FormEvent } from 'react';
import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button, ErrorMessage, Field, inputClass, useFieldProblems } from '@/components/ui/ui';
import { AuthCard, linkClass, Notice } from './auth-card';
import { useRequestReset } from './api';
import { accountError } from './errors';

/** Asks for a reset link; the answer is the same whether or not the email has an account. */
export function ForgotPasswordPage() {
  const { t } = useTranslation();
  const request = useRequestReset();
  const [email, setEmail] = useState('');
  const problem = useFieldProblems(request.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    request.mutate(email);
  };
  return (
    <AuthCard title={t('account.forgot.title')}>
      {request.isSuccess ? (
        <Notice>{t('account.forgot.sent')}</Notice>
      ) : (
        <form onSubmit={submit} className="flex flex-col gap-3">
          <p className="text-sm text-slate-700 dark:text-slate-300">{t('account.forgot.intro')}</p>
          <Field label={t('auth.email')} error={problem('email')}>
            <input className={inputClass} type="email" required dir="ltr" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          </Field>
          <ErrorMessage error={accountError(t, request.error)} details={request.error} shownFields={['email']} />
          <Button type="submit" variant="primary" disabled={request.isPending}>
            {request.isPending ? t('account.working') : t('account.forgot.submit')}
          </Button>
        </form>
      )}
      <p className="mt-3 text-sm">
        <Link to="/sign-in" search={{}} className={linkClass}>
          {t('account.backToSignIn')}
        </Link>
      </p>
    </AuthCard>
  );
}
