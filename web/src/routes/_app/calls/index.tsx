import { createFileRoute } from '@tanstack/react-router';
import { CallsPage } from '@/features/calls/calls-page';
import { callsSearchSchema } from '@/features/calls/search';

export const Route = createFileRoute('/_app/calls/')({
  validateSearch: callsSearchSchema,
  component: CallsPage,
});
