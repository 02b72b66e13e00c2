import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, data } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';
import { keys } from '@/lib/query-keys';

export type SessionInfo = components['schemas']['SessionInfo'];
export type MemberDto = components['schemas']['MemberDto'];
export type InvitationDto = components['schemas']['InvitationDto'];
export type MailboxItem = components['schemas']['MailboxItemDto'];

/** Replaces every cached answer with the new session (another user or tenant: nothing cached may leak across). */
function useStartSession(keep?: string) {
  const qc = useQueryClient();
  return (session: SessionInfo) => {
    // `keep`: a query the page still shows (removing it would refetch a now-used token).
    qc.removeQueries({ predicate: (q) => q.queryKey[0] !== keep });
    qc.setQueryData(keys.session, session);
  };
}

/** POST /api/v1/auth/signup: creates the organisation and its owner, and signs in. */
export function useSignUp() {
  const start = useStartSession();
  return useMutation({
    mutationFn: async (body: { email: string; password: string; organisation: string; fullName: string | null; timeZone?: string; locale?: string }) =>
      data(await api.POST('/api/v1/auth/signup', { body })),
    onSuccess: start,
  });
}

/** POST /api/v1/auth/password-reset: always 202 with the same answer (no account enumeration). */
export function useRequestReset() {
  return useMutation({
    mutationFn: async (email: string) => data(await api.POST('/api/v1/auth/password-reset', { body: { email } })),
  });
}

/** POST /api/v1/auth/password-reset/confirm: 204; every session of the user is revoked. */
export function useConfirmReset() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: { token: string; password: string }) => {
      await api.POST('/api/v1/auth/password-reset/confirm', { body });
    },
    onSuccess: () => qc.clear(),
  });
}

/** POST /api/v1/auth/verify-email with the mailed token. */
export function useVerifyEmail() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (token: string) => data(await api.POST('/api/v1/auth/verify-email', { body: { token } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.session }),
  });
}

/** POST /api/v1/auth/verify-email/resend for the signed-in user. */
export function useResendVerification() {
  return useMutation({
    mutationFn: async () => data(await api.POST('/api/v1/auth/verify-email/resend')),
  });
}

/** POST /api/v1/auth/invitations/preview: what the invitation link is for. */
export function useInvitationPreview(token: string) {
  return useQuery({
    queryKey: ['invitation-preview', token],
    queryFn: async () => data(await api.POST('/api/v1/auth/invitations/preview', { body: { token } })),
    enabled: token.length > 0,
    staleTime: Infinity,
  });
}

/** POST /api/v1/auth/invitations/accept: joins the tenant and signs in. */
export function useAcceptInvitation() {
  const start = useStartSession('invitation-preview');
  return useMutation({
    mutationFn: async (body: { token: string; password: string; fullName: string | null }) =>
      data(await api.POST('/api/v1/auth/invitations/accept', { body })),
    onSuccess: start,
  });
}

/** POST /api/v1/auth/switch-tenant: the session acts for another organisation. */
export function useSwitchTenant() {
  const start = useStartSession();
  return useMutation({
    mutationFn: async (tenantId: string) => data(await api.POST('/api/v1/auth/switch-tenant', { body: { tenantId } })),
    onSuccess: start,
  });
}

/** GET /api/v1/operator/mailbox (operators only). */
export function useMailbox(to: string) {
  return useQuery({
    queryKey: ['operator', 'mailbox', to],
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/operator/mailbox', { params: { query: { to: to || undefined, limit: 100 } }, signal })),
    refetchInterval: 5000,
  });
}
