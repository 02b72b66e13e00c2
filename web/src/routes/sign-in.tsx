import { createFileRoute } from '@tanstack/react-router';
import { z } from 'zod';
import { SignInPage } from '@/features/auth/sign-in-page';

const search = z.object({ redirect: z.string().optional().catch(undefined) });

export const Route = createFileRoute('/sign-in')({
  validateSearch: search,
  component: SignInPage,
});
