import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button, Card, ErrorMessage, Field, inputClass } from '@/components/ui/ui';
import { LanguageSelect } from '@/components/layout/preferences';
import { useSignIn } from './api';
import { accountError, safeRedirect } from '@/features/account/errors';
import { linkClass } from '@/features/account/auth-card';

/** Sign in with email and password (cookie session); goes back to the page asked for. */
export function SignInPage() {
  const { t } = useTranslation();
  const search = useSearch({ from: '/sign-in' });
  const navigate = useNavigate();
  const signIn = useSignIn();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate(
      { email, password },
      {
        onSuccess: () => {
          void navigate({ to: safeRedirect(search.redirect) });
        },
      },
    );
  };

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <Card className="w-full max-w-sm">
        <div className="mb-4 flex items-center justify-between gap-2">
          <h1 className="text-lg font-semibold">{t('auth.title')}</h1>
          <LanguageSelect compact />
        </div>
        <form onSubmit={submit} className="flex flex-col gap-3">
          <Field label={t('auth.email')}>
            <input className={inputClass} type="email" autoComplete="username" required dir="ltr" value={email} onChange={(e) => setEmail(e.target.value)} />
          </Field>
          <Field label={t('auth.password')}>
            <input className={inputClass} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </Field>
          <ErrorMessage error={accountError(t, signIn.error)} />
          <Button type="submit" variant="primary" disabled={signIn.isPending}>
            {signIn.isPending ? t('auth.signingIn') : t('auth.submit')}
          </Button>
          <div className="flex flex-wrap justify-between gap-2">
            <Link to="/forgot-password" className={linkClass}>
              {t('account.signIn.forgot')}
            </Link>
            <Link to="/sign-up" className={linkClass}>
              {t('account.signIn.createAccount')}
            </Link>
          </div>
        </form>
      </Card>
    </main>
  );
}
