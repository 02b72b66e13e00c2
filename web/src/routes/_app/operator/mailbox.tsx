import { createFileRoute } from '@tanstack/react-router';
import { MailboxPage } from '@/features/account/mailbox-page';

export const Route = createFileRoute('/_app/operator/mailbox')({
  component: MailboxPage,
});
