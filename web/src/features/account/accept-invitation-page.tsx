import { useState, type FormEvent } from 'react';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button, ErrorMessage, Field, inputClass, Ltr, useFieldProblems } from '@/components/ui/ui';
import { AuthCard } from './auth-card';
import { useAcceptInvitation, useInvitationPreview } from './api';
import { accountError } from './errors';

/** Accepts a mailed invitation: a new person chooses a password; someone with an account proves theirs. */
export function AcceptInvitationPage() {
  const { t } = useTranslation();
  const { token = '' } = useSearch({ from: '/invitations/accept' });
  const navigate = useNavigate();
  const preview = useInvitationPreview(token);
  const accept = useAcceptInvitation();
  const [fullName, setFullName] = useState('');
  const [password, setPassword] = useState('');
  const problem = useFieldProblems(accept.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    accept.mutate({ token, password, fullName: fullName.trim() || null }, { onSuccess: () => void navigate({ to: '/' }) });
  };
  const invitation = preview.data;
  return (
    <AuthCard title={t('account.accept.title')}>
      {!token ? <ErrorMessage error={t('account.errors.invitationNotFound')} /> : null}
      {preview.isPending && token ? <p role="status">{t('common.loading')}</p> : null}
      <ErrorMessage error={accountError(t, preview.error)} />
      {invitation ? (
        <form onSubmit={submit} className="flex flex-col gap-3">
          <p className="text-sm text-slate-700 dark:text-slate-300">
            {t('account.accept.intro', { tenant: invitation.tenantName, role: t(`account.roles.${invitation.role}`) })}
          </p>
          <p className="text-sm">
            {t('auth.email')}: <Ltr>{invitation.email}</Ltr>
          </p>
          {invitation.existingAccount ? (
            <Field label={t('account.accept.currentPassword')} error={problem('password')}>
              <input className={inputClass} type="password" required autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            </Field>
          ) : (
            <>
              <Field label={t('account.signUp.fullName')} error={problem('fullName')}>
                <input className={inputClass} maxLength={200} autoComplete="name" value={fullName} onChange={(e) => setFullName(e.target.value)} />
              </Field>
              <Field label={t('account.accept.choosePassword')} error={problem('password')}>
                <input className={inputClass} type="password" required minLength={10} maxLength={128} autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
              </Field>
              <p className="text-xs text-slate-600 dark:text-slate-400">{t('account.passwordHint')}</p>
            </>
          )}
          <ErrorMessage error={accountError(t, accept.error)} details={accept.error} shownFields={['password', 'fullName']} />
          <Button type="submit" variant="primary" disabled={accept.isPending}>
            {accept.isPending ? t('account.working') : t('account.accept.submit')}
          </Button>
        </form>
      ) : null}
    </AuthCard>
  );
}
