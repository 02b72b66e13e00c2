import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, data } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';

export type KnowledgeDocument = components['schemas']['KnowledgeDocumentDto'];
/** The JSON form of POST /api/v1/knowledge (text, markdown, html, pdf as base64, url). */
export type KnowledgeRequest = components['schemas']['KnowledgeDocumentRequest'];

export const knowledgeKey = (tenantId: string) => [tenantId, 'knowledge'] as const;

/** Extensions the upload accepts (the server reads the type from them: .pdf, .md, .html, .txt). */
export const UPLOAD_ACCEPT = '.pdf,.md,.markdown,.html,.htm,.txt,application/pdf,text/markdown,text/html,text/plain';

export function useKnowledge(tenantId: string) {
  return useQuery({
    queryKey: knowledgeKey(tenantId),
    queryFn: async ({ signal }) => data(await api.GET('/api/v1/knowledge', { signal })),
  });
}

/** Adds a document from the JSON form, or uploads a file (multipart/form-data: file and optional title). */
export function useAddDocument(tenantId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (input: { json: KnowledgeRequest } | { file: File; title?: string }) => {
      if ('json' in input) return data(await api.POST('/api/v1/knowledge', { body: input.json }));
      const form = new FormData();
      form.append('file', input.file, input.file.name);
      if (input.title) form.append('title', input.title);
      // FormData goes as is: the browser sets the multipart boundary.
      return data(await api.POST('/api/v1/knowledge', { body: form as unknown as KnowledgeRequest, bodySerializer: (b) => b as unknown as FormData }));
    },
    onSuccess: () => client.invalidateQueries({ queryKey: knowledgeKey(tenantId) }),
  });
}

export function useReindexDocument(tenantId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => data(await api.POST('/api/v1/knowledge/{id}/reindex', { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: knowledgeKey(tenantId) }),
  });
}

export function useDeleteDocument(tenantId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      await api.DELETE('/api/v1/knowledge/{id}', { params: { path: { id } } });
    },
    onSuccess: () => client.invalidateQueries({ queryKey: knowledgeKey(tenantId) }),
  });
}
