import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, data } from '@/lib/api/client';
import { keys } from '@/lib/query-keys';

/** POST /api/v1/auth/login: sets the sb_session (HttpOnly) and sb_csrf cookies. */
export function useSignIn() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: { email: string; password: string }) => data(await api.POST('/api/v1/auth/login', { body: { ...body, tenantId: null } })),
    onSuccess: (session) => {
      qc.clear();
      qc.setQueryData(keys.session, session);
    },
  });
}

/** POST /api/v1/auth/logout, then forget every cached answer. */
export function useSignOut() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      await api.POST('/api/v1/auth/logout');
    },
    onSettled: () => qc.clear(),
  });
}
