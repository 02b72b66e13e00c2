import { z } from 'zod';

/** Settings pages accept `?returnTo=/onboarding` (a same-origin path; anything else is dropped). */
export const returnToSearch = z.object({
  returnTo: z
    .string()
    .max(200)
    .regex(/^\/(?!\/)[^\\]*$/)
    .optional()
    .catch(undefined),
});
