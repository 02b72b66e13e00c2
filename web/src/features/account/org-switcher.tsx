import { useNavigate } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { useSession } from '@/lib/session';
import { inputClass } from '@/components/ui/ui';
import { errorText } from '@/lib/error-text';
import { useSwitchTenant } from './api';

/** The organisation switcher in the shell header: shown only to users who belong to more than one tenant. */
export function OrgSwitcher() {
  const { t } = useTranslation();
  const session = useSession();
  const navigate = useNavigate();
  const switchTenant = useSwitchTenant();
  if (session.memberships.length < 2 || !session.tenant) return null;
  return (
    <label className="flex min-w-0 items-center gap-2 text-sm">
      <span className="sr-only">{t('account.switcher.label')}</span>
      <select
        className={`${inputClass} max-w-48 truncate`}
        aria-label={t('account.switcher.label')}
        value={session.tenant.id}
        disabled={switchTenant.isPending}
        onChange={(e) => switchTenant.mutate(e.target.value, { onSuccess: () => void navigate({ to: '/' }) })}
      >
        {session.memberships.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name}
          </option>
        ))}
      </select>
      {switchTenant.error ? (
        <span role="alert" className="text-xs text-red-700 dark:text-red-300">
          {errorText(switchTenant.error, t)}
        </span>
      ) : null}
    </label>
  );
}
