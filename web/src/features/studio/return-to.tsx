import { useRouter } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import { ArrowLeft } from 'lucide-react';
import { buttonClass } from '@/components/ui/ui';

/** A same-origin path to come back to (`/onboarding`…): starts with one `/`, never `//` or a scheme; anything else is dropped. */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 300) return undefined;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined;
  return value;
}

/** Search schema shared by the studio pages: `?returnTo=` (validated, else ignored). */
export const returnToSearch = z.object({
  returnTo: z
    .string()
    .optional()
    .catch(undefined)
    .transform((v) => safeReturnTo(v)),
});

/** "Back to onboarding" (or "Back") banner shown when the page was opened with a valid `?returnTo=`. */
export function ReturnToBanner({ returnTo }: { returnTo: string | undefined }) {
  const { t } = useTranslation();
  const router = useRouter();
  if (!returnTo) return null;
  const label = returnTo.startsWith('/onboarding') ? t('studio.returnTo.onboarding') : t('studio.returnTo.back');
  return (
    <div
      role="region"
      aria-label={label}
      className="mb-4 flex flex-wrap items-center justify-between gap-2 rounded-md border border-sky-300 bg-sky-50 p-3 text-sm text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100"
    >
      <span>{t('studio.returnTo.hint')}</span>
      <a
        href={returnTo}
        className={buttonClass('primary')}
        onClick={(e) => {
          e.preventDefault();
          router.history.push(returnTo);
        }}
      >
        <ArrowLeft aria-hidden className="size-4 rtl:rotate-180" />
        {label}
      </a>
    </div>
  );
}

/** A field's server (or client) error, shown under the field and tied to it with `aria-describedby`. */
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} role="alert" className="text-sm text-red-700 dark:text-red-300">
      {message}
    </p>
  );
}
