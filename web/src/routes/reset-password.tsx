import { createFileRoute } from '@tanstack/react-router';
import { z } from 'zod';
import { ResetPasswordPage } from '@/features/account/reset-password-page';

const search = z.object({ token: z.string().max(200).optional().catch(undefined) });

export const Route = createFileRoute('/reset-password')({
  validateSearch: search,
  component: ResetPasswordPage,
});
