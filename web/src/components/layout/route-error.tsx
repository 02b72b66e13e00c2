import { useQueryClient } from '@tanstack/react-query';
import { useRouter, type ErrorComponentProps } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/ui';
import { errorText } from '@/lib/error-text';

/**
 * Shown when a route cannot load (typically the session check while the server is stopped): a translated message and
 * a way to try again, instead of the router's English "Something went wrong!".
 */
export function RouteError({ error, reset }: ErrorComponentProps) {
  const { t } = useTranslation();
  const router = useRouter();
  const queryClient = useQueryClient();
  const retry = () => {
    // Forget failed queries (the session check among them) so the retry asks the server again.
    queryClient.removeQueries({ predicate: (q) => q.state.status === 'error' });
    reset();
    void router.invalidate();
  };
  return (
    <main className="mx-auto max-w-md p-8 text-center">
      <h1 className="text-xl font-semibold">{t('errors.title')}</h1>
      <p role="alert" className="mt-3 text-sm text-slate-700 dark:text-slate-300">
        {errorText(error, t)}
      </p>
      <Button variant="primary" className="mt-4" onClick={retry}>
        {t('errors.retry')}
      </Button>
    </main>
  );
}
