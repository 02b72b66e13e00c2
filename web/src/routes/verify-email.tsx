import { createFileRoute } from '@tanstack/react-router';
import { z } from 'zod';
import { VerifyEmailPage } from '@/features/account/verify-email-page';

const search = z.object({ token: z.string().max(200).optional().catch(undefined) });

export const Route = createFileRoute('/verify-email')({
  validateSearch: search,
  component: VerifyEmailPage,
});
