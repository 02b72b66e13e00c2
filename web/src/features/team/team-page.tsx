import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Button, Card, ErrorMessage, Field, inputClass, Ltr, PageTitle, useFieldProblems } from '@/components/ui/ui';
import { useFormat, useSession } from '@/lib/session';
import { formatDateTime } from '@/lib/format/format';
import { accountError } from '@/features/account/errors';
import { useInvitations, useMembers, useTeamMutations } from './api';
import { teamPermissions } from './permissions';

/** Settings → Team: members and their roles, invitations by email; controls follow the caller's role as the API does. */
export function TeamPage() {
  const { t } = useTranslation();
  const session = useSession();
  const tenantId = session.tenant?.id ?? 'none';
  const perms = teamPermissions(session.tenant?.role);
  const members = useMembers(tenantId);
  const invitations = useInvitations(tenantId, perms.manageTeam);
  const m = useTeamMutations(tenantId);
  const fmt = useFormat();
  const mutationError = m.changeRole.error ?? m.remove.error ?? m.revoke.error;

  return (
    <div className="flex flex-col gap-6">
      <PageTitle>{t('account.team.title')}</PageTitle>
      {!perms.manageTeam ? <p className="text-sm text-slate-700 dark:text-slate-300">{t('account.team.readOnly')}</p> : null}
      <ErrorMessage error={accountError(t, mutationError)} />

      <section aria-labelledby="members-heading">
        <h2 id="members-heading" className="mb-2 text-lg font-semibold">
          {t('account.team.members')}
        </h2>
        <ErrorMessage error={members.error} />
        {members.isPending ? <p role="status">{t('common.loading')}</p> : null}
        <ul className="flex flex-col gap-2">
          {members.data?.map((member) => {
            const editable = perms.canEdit(member.role);
            const self = member.userId === session.user?.id;
            return (
              <li key={member.userId}>
                <Card className="flex flex-wrap items-center justify-between gap-3">
                  <div className="min-w-0">
                    <p className="font-medium">
                      {member.fullName ?? <Ltr>{member.email}</Ltr>} {self ? <Badge tone="blue">{t('account.team.you')}</Badge> : null}
                    </p>
                    <p className="truncate text-sm text-slate-600 dark:text-slate-400" title={member.email}>
                      <Ltr>{member.email}</Ltr>
                    </p>
                  </div>
                  <div className="flex flex-wrap items-center gap-2">
                    {editable ? (
                      <select
                        className={inputClass}
                        aria-label={t('account.team.roleOf', { name: member.fullName ?? member.email })}
                        value={member.role}
                        disabled={m.changeRole.isPending}
                        onChange={(e) => m.changeRole.mutate({ userId: member.userId, role: e.target.value })}
                      >
                        {(perms.grantable.includes(member.role) ? perms.grantable : [member.role, ...perms.grantable]).map((r) => (
                          <option key={r} value={r}>
                            {t(`account.roles.${r}`)}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <Badge>{t(`account.roles.${member.role}`, { defaultValue: member.role })}</Badge>
                    )}
                    {editable ? (
                      <Button
                        variant="ghost"
                        disabled={m.remove.isPending}
                        onClick={() => {
                          if (window.confirm(t('account.team.confirmRemove', { name: member.fullName ?? member.email }))) m.remove.mutate(member.userId);
                        }}
                      >
                        {t('account.team.remove')}
                      </Button>
                    ) : null}
                  </div>
                </Card>
              </li>
            );
          })}
        </ul>
      </section>

      {perms.manageTeam ? (
        <section aria-labelledby="invitations-heading" className="flex flex-col gap-3">
          <h2 id="invitations-heading" className="text-lg font-semibold">
            {t('account.team.invitations')}
          </h2>
          <InviteForm grantable={perms.grantable} invite={m.invite} />
          <ErrorMessage error={invitations.error} />
          <ul className="flex flex-col gap-2">
            {invitations.data?.map((inv) => {
              const state = inv.acceptedAt ? 'accepted' : inv.revokedAt ? 'revoked' : new Date(inv.expiresAt) < new Date() ? 'expired' : 'pending';
              return (
                <li key={inv.id}>
                  <Card className="flex flex-wrap items-center justify-between gap-3">
                    <div className="min-w-0">
                      <p className="truncate font-medium" title={inv.email}>
                        <Ltr>{inv.email}</Ltr>
                      </p>
                      <p className="text-sm text-slate-600 dark:text-slate-400">
                        {t(`account.roles.${inv.role}`, { defaultValue: inv.role })} · {t('account.team.expires', { when: formatDateTime(inv.expiresAt, fmt.locale, fmt.timeZone) })}
                      </p>
                    </div>
                    <div className="flex items-center gap-2">
                      <Badge tone={state === 'pending' ? 'amber' : state === 'accepted' ? 'green' : 'slate'}>{t(`account.team.state.${state}`)}</Badge>
                      {state === 'pending' ? (
                        <Button variant="ghost" disabled={m.revoke.isPending} onClick={() => m.revoke.mutate(inv.id)}>
                          {t('account.team.revoke')}
                        </Button>
                      ) : null}
                    </div>
                  </Card>
                </li>
              );
            })}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

function InviteForm({ grantable, invite }: { grantable: string[]; invite: ReturnType<typeof useTeamMutations>['invite'] }) {
  const { t } = useTranslation();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('member');
  const problem = useFieldProblems(invite.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate({ email, role }, { onSuccess: () => setEmail('') });
  };
  return (
    <Card>
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3">
        <Field label={t('auth.email')} className="min-w-56 flex-1" error={problem('email')}>
          <input className={inputClass} type="email" required dir="ltr" value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        <Field label={t('account.team.role')} error={problem('role')}>
          <select className={inputClass} aria-label={t('account.team.role')} value={role} onChange={(e) => setRole(e.target.value)}>
            {grantable.map((r) => (
              <option key={r} value={r}>
                {t(`account.roles.${r}`)}
              </option>
            ))}
          </select>
        </Field>
        <Button type="submit" variant="primary" disabled={invite.isPending}>
          {t('account.team.invite')}
        </Button>
      </form>
      {invite.isSuccess ? (
        <p role="status" className="mt-2 text-sm text-emerald-800 dark:text-emerald-300">
          {t('account.team.invited', { email: invite.data.email })}
        </p>
      ) : null}
      <div className="mt-2">
        <ErrorMessage error={accountError(t, invite.error)} details={invite.error} shownFields={['email', 'role']} />
      </div>
    </Card>
  );
}
