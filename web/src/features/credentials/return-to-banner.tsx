import { useNavigate } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { ArrowLeft } from 'lucide-react';
import { Button } from '@/components/ui/ui';
import { safeReturnTo } from '@/features/onboarding/api';

/**
 * The "Back to onboarding" banner a settings page shows when opened with `?returnTo=<same-origin path>`
 * (issue 9 split, "Go to Settings and come back"); any other value shows nothing.
 */
export function ReturnToBanner({ returnTo }: { returnTo: unknown }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const target = safeReturnTo(returnTo);
  if (!target) return null;
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2 rounded-md border border-sky-300 bg-sky-50 p-3 text-sm text-sky-900 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100">
      <span>{t('credentials.returnTo.text')}</span>
      <Button variant="primary" onClick={() => void navigate({ href: target })}>
        <ArrowLeft aria-hidden className="size-4 rtl:rotate-180" />
        {t('credentials.returnTo.back')}
      </Button>
    </div>
  );
}
