import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { fieldProblemText } from '@/lib/field-errors';
import { safeReturnTo } from '@/lib/return-to';

export { safeReturnTo } from '@/lib/return-to';
export { ReturnToBanner } from '@/components/layout/return-to-banner';

/** Search schema shared by the studio pages: `?returnTo=` (validated, else ignored). */
export const returnToSearch = z.object({
  returnTo: z
    .string()
    .optional()
    .catch(undefined)
    .transform((v) => safeReturnTo(v)),
});

/**
 * A field's server (or client) error, shown under the field and tied to it with `aria-describedby`. The server's usual
 * sentences (English) are shown in the reader's language; a message already translated passes through unchanged.
 */
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  const { t } = useTranslation();
  if (!message) return null;
  return (
    <p id={id} role="alert" className="text-sm text-red-700 dark:text-red-300">
      {fieldProblemText(message, t)}
    </p>
  );
}
