import { createFileRoute } from '@tanstack/react-router';
import { CallDetailPage } from '@/features/calls/call-detail-page';

export const Route = createFileRoute('/_app/calls/$callId')({
  component: CallDetailPage,
});
