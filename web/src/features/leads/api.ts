import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, data } from '@/lib/api/client';
import { keys } from '@/lib/query-keys';
import type { components } from '@/lib/api/schema';

export const LEAD_STATUSES = ['new', 'contacted', 'booked', 'lost'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** Next statuses the API allows from each one (new → contacted → booked / lost; any lead can be reopened as new). */
export const NEXT_STATUS: Record<LeadStatus, readonly LeadStatus[]> = {
  new: ['contacted', 'booked', 'lost'],
  contacted: ['booked', 'lost', 'new'],
  booked: ['new'],
  lost: ['new'],
};

/** LeadItem from the OpenAPI snapshot (GET/PATCH /api/v1/leads). */
export type LeadItem = components['schemas']['LeadItem'];

export interface LeadsFilter {
  status?: string;
  urgency?: string;
  q?: string;
}

export function useLeads(tenantId: string, filter: LeadsFilter) {
  return useQuery({
    queryKey: [...keys.leads(tenantId), filter],
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/leads', { params: { query: { ...filter, pageSize: 100 } }, signal })),
    placeholderData: keepPreviousData,
  });
}

export function useMembers(tenantId: string) {
  return useQuery({
    queryKey: [tenantId, 'team', 'members'],
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/team/members', { signal })),
    staleTime: 5 * 60_000,
  });
}

export function useUpdateLead(tenantId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, patch }: { id: string; patch: { status?: string; notes?: string; assigneeUserId?: string | null } }) =>
      data(await api.PATCH('/api/v1/leads/{id}', { params: { path: { id } }, body: patch })),
    onSuccess: (lead) => {
      qc.setQueriesData<{ items: LeadItem[]; nextCursor: string | null }>({ queryKey: keys.leads(tenantId) }, (old) =>
        old ? { ...old, items: old.items.map((l) => (l.id === lead.id ? lead : l)) } : old,
      );
      void qc.invalidateQueries({ queryKey: keys.leads(tenantId) });
    },
  });
}
