import { createFileRoute, Outlet, redirect } from '@tanstack/react-router';
import { AppShell } from '@/components/layout/app-shell';
import { ApiError } from '@/lib/api/client';
import { sessionQuery, useTenantId } from '@/lib/session';
import { useLiveEvents } from '@/lib/live/use-live-events';

export const Route = createFileRoute('/_app')({
  beforeLoad: async ({ context, location }) => {
    try {
      const session = await context.queryClient.ensureQueryData(sessionQuery);
      if (!session.tenant) throw new ApiError(401, 'NO_TENANT', 'No tenant');
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        throw redirect({ to: '/sign-in', search: { redirect: location.href } });
      }
      throw e;
    }
  },
  component: Layout,
});

function Layout() {
  const tenantId = useTenantId();
  useLiveEvents(tenantId);
  return (
    <AppShell>
      <Outlet />
    </AppShell>
  );
}
