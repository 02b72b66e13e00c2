import { createFileRoute } from '@tanstack/react-router';
import { AssistantsPage } from '@/features/studio/assistants-page';
import { returnToSearch } from '@/features/studio/return-to';

export const Route = createFileRoute('/_app/settings/assistants/')({ validateSearch: returnToSearch, component: AssistantsPage });
