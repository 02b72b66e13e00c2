import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';

export function NotFound() {
  const { t } = useTranslation();
  return (
    <main className="mx-auto max-w-md p-8 text-center">
      <h1 className="text-xl font-semibold">{t('errors.notFound')}</h1>
      <Link to="/" className="mt-4 inline-block text-brand-600 underline dark:text-brand-100">
        {t('nav.overview')}
      </Link>
    </main>
  );
}
