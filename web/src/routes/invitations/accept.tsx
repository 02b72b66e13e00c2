import { createFileRoute } from '@tanstack/react-router';
import { z } from 'zod';
import { AcceptInvitationPage } from '@/features/account/accept-invitation-page';

const search = z.object({ token: z.string().max(200).optional().catch(undefined) });

export const Route = createFileRoute('/invitations/accept')({
  validateSearch: search,
  component: AcceptInvitationPage,
});
