import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useRouter } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button, ErrorMessage, Field, inputClass, useFieldProblems } from '@/components/ui/ui';
import { AuthCard, linkClass } from './auth-card';
import { useSignUp } from './api';
import { accountError } from './errors';
import { browserTimeZone, refusedOnlyBrowserDefaults, tenantLocaleFor } from '@/lib/tenant-locale';
import { TimeZoneField } from '@/components/ui/time-zone-field';

/** The sign-up fields whose problems are shown beside them. */
const SIGN_UP_FIELDS = ['organisation', 'fullName', 'email', 'password', 'timeZone'];

/** Sign-up: the organisation and its owner; lands signed in on the onboarding wizard when there is one, else the overview. */
export function SignUpPage() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const router = useRouter();
  const signUp = useSignUp();
  const [form, setForm] = useState({ organisation: '', fullName: '', email: '', password: '', timeZone: browserTimeZone() ?? 'UTC' });
  const problem = useFieldProblems(signUp.error);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = { ...form, fullName: form.fullName.trim() || null };
    const onSuccess = () => {
      const hasOnboarding = Object.keys(router.routesByPath).includes('/onboarding');
      void navigate({ to: hasOnboarding ? ('/onboarding' as '/') : '/' });
    };
    // The organisation starts in the chosen time zone (the browser's unless changed) and the browser's language (the
    // profile step can change both); should the server refuse only the language, it starts on its default instead: the
    // owner has no field here to fix it.
    signUp.mutate(
      { ...body, locale: tenantLocaleFor(navigator.language) },
      {
        onSuccess,
        onError: (error) => {
          if (refusedOnlyBrowserDefaults(error)) signUp.mutate(body, { onSuccess });
        },
      },
    );
  };

  return (
    <AuthCard title={t('account.signUp.title')}>
      <form onSubmit={submit} className="flex flex-col gap-3">
        <Field label={t('account.signUp.organisation')} error={problem('organisation')}>
          <input className={inputClass} required maxLength={200} autoComplete="organization" value={form.organisation} onChange={set('organisation')} />
        </Field>
        <Field label={t('account.signUp.fullName')} error={problem('fullName')}>
          <input className={inputClass} maxLength={200} autoComplete="name" value={form.fullName} onChange={set('fullName')} />
        </Field>
        <Field label={t('auth.email')} error={problem('email')}>
          <input className={inputClass} type="email" required dir="ltr" autoComplete="email" value={form.email} onChange={set('email')} />
        </Field>
        <Field label={t('auth.password')} error={problem('password')}>
          <input className={inputClass} type="password" required minLength={10} maxLength={128} autoComplete="new-password" value={form.password} onChange={set('password')} aria-describedby="password-hint" />
        </Field>
        <p id="password-hint" className="text-xs text-slate-600 dark:text-slate-400">
          {t('account.passwordHint')}
        </p>
        <TimeZoneField
          label={t('account.signUp.timeZone')}
          error={problem('timeZone')}
          value={form.timeZone}
          onChange={(timeZone) => setForm((f) => ({ ...f, timeZone }))}
          locale={i18n.language}
        />
        <ErrorMessage error={accountError(t, signUp.error)} details={signUp.error} shownFields={SIGN_UP_FIELDS} />
        <Button type="submit" variant="primary" disabled={signUp.isPending}>
          {signUp.isPending ? t('account.working') : t('account.signUp.submit')}
        </Button>
        <p className="text-sm">
          {t('account.signUp.haveAccount')}{' '}
          <Link to="/sign-in" search={{}} className={linkClass}>
            {t('account.signIn.link')}
          </Link>
        </p>
      </form>
    </AuthCard>
  );
}
