import { createFileRoute, Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import { buttonClass } from '@/components/ui/ui';
import { TeamPage } from '@/features/team/team-page';

const search = z.object({ returnTo: z.string().optional().catch(undefined) });

export const Route = createFileRoute('/_app/settings/team')({
  validateSearch: search,
  component: Team,
});

function Team() {
  const { t } = useTranslation();
  const { returnTo } = Route.useSearch();
  const back = returnTo && returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : null;
  return (
    <>
      {back ? (
        <div className="mb-4">
          <Link to={back as '/'} className={buttonClass('secondary')}>
            {t('account.backToOnboarding')}
          </Link>
        </div>
      ) : null}
      <TeamPage />
    </>
  );
}
