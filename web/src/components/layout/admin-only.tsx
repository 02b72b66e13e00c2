import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { PageTitle } from '@/components/ui/ui';
import { useSession } from '@/lib/session';

/**
 * A page only owners and admins may read (credentials, API keys, audit log: the API answers a member 403). The menu
 * hides it from members; a member who opens it by its address reads why, instead of controls that cannot work.
 */
export function AdminOnly({ title, children }: { title: string; children: ReactNode }) {
  const { t } = useTranslation();
  const role = useSession().tenant?.role;
  if (role === 'owner' || role === 'admin') return <>{children}</>;
  return (
    <>
      <PageTitle>{title}</PageTitle>
      <p role="status" className="max-w-prose rounded-md border border-slate-300 bg-white p-3 text-sm dark:border-slate-700 dark:bg-slate-900">
        {t('common.adminOnly')}
      </p>
    </>
  );
}
