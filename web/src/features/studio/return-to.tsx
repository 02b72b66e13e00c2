import { z } from 'zod';
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

/** A field's server (or client) error, shown under the field and tied to it with `aria-describedby`. */
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} role="alert" className="text-sm text-red-700 dark:text-red-300">
      {message}
    </p>
  );
}
