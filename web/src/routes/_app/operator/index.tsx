import { createFileRoute, redirect } from '@tanstack/react-router';
import { OperatorPage } from '@/features/admin/operator-page';
import { sessionQuery } from '@/lib/session';

/** Operators only: anyone else is sent to the overview (the API refuses them too). */
export const Route = createFileRoute('/_app/operator/')({
  beforeLoad: async ({ context }) => {
    const session = await context.queryClient.ensureQueryData(sessionQuery);
    if (!session.isOperator) throw redirect({ to: '/' });
  },
  component: OperatorPage,
});
