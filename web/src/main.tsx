import './lib/zod-config';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createRouter, RouterProvider } from '@tanstack/react-router';
import { I18nextProvider } from 'react-i18next';
import { Direction } from 'radix-ui';
import { useTranslation } from 'react-i18next';
import i18n from './lib/i18n';
import { ApiError, onUnauthorized } from './lib/api/client';
import { applyTheme, storedTheme } from './lib/theme';
import { routeTree } from './routeTree.gen';
import { RouteError } from './components/layout/route-error';
import './index.css';

applyTheme(storedTheme());

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Never retry what the server refused: 401/403/404/422 answers will not change by asking again.
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
      staleTime: 10_000,
    },
  },
  queryCache: new QueryCache(),
});

// A route that cannot load (the server stopped) says so in the user's language, with a way to try again.
const router = createRouter({
  routeTree,
  context: { queryClient },
  defaultPreload: 'intent',
  scrollRestoration: true,
  defaultErrorComponent: RouteError,
});

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}

// A 401 anywhere (the session expired or was revoked) sends the user to sign-in, back here afterwards.
onUnauthorized(() => {
  queryClient.clear();
  const here = router.state.location.href;
  // Signed-out pages handle their own 401s (a wrong password when accepting an invitation) as messages.
  const signedOutPages = ['/sign-in', '/sign-up', '/forgot-password', '/reset-password', '/verify-email', '/invitations/accept'];
  if (!signedOutPages.some((p) => router.state.location.pathname.startsWith(p))) {
    void router.navigate({ to: '/sign-in', search: { redirect: here } });
  }
});

function App() {
  const { i18n: i } = useTranslation();
  return (
    <Direction.Provider dir={i.dir(i.language)}>
      <RouterProvider router={router} />
    </Direction.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nextProvider i18n={i18n}>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </I18nextProvider>
  </StrictMode>,
);
