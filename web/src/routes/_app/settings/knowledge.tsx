import { createFileRoute } from '@tanstack/react-router';
import { KnowledgePage } from '@/features/knowledge/knowledge-page';

export const Route = createFileRoute('/_app/settings/knowledge')({ component: KnowledgePage });
