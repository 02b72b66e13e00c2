import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, data } from '@/lib/api/client';

/** Team query keys start with the tenant id, like every other key (switching tenant never shows another's team). */
export const teamKeys = {
  members: (tenantId: string) => [tenantId, 'team', 'members'] as const,
  invitations: (tenantId: string) => [tenantId, 'team', 'invitations'] as const,
};

export function useMembers(tenantId: string) {
  return useQuery({
    queryKey: teamKeys.members(tenantId),
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/team/members', { signal })),
  });
}

export function useInvitations(tenantId: string, enabled: boolean) {
  return useQuery({
    queryKey: teamKeys.invitations(tenantId),
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/team/invitations', { signal })),
    enabled,
  });
}

/** PATCH/DELETE members, POST/DELETE invitations; each refreshes the team lists. */
export function useTeamMutations(tenantId: string) {
  const qc = useQueryClient();
  const refresh = () => void qc.invalidateQueries({ queryKey: [tenantId, 'team'] });
  return {
    changeRole: useMutation({
      mutationFn: async ({ userId, role }: { userId: string; role: string }) =>
        data(await api.PATCH('/api/v1/team/members/{userId}', { params: { path: { userId } }, body: { role } })),
      onSettled: refresh,
    }),
    remove: useMutation({
      mutationFn: async (userId: string) => {
        await api.DELETE('/api/v1/team/members/{userId}', { params: { path: { userId } } });
      },
      onSettled: refresh,
    }),
    invite: useMutation({
      mutationFn: async (body: { email: string; role: string }) => data(await api.POST('/api/v1/team/invitations', { body })),
      onSettled: refresh,
    }),
    revoke: useMutation({
      mutationFn: async (id: string) => {
        await api.DELETE('/api/v1/team/invitations/{id}', { params: { path: { id } } });
      },
      onSettled: refresh,
    }),
  };
}
