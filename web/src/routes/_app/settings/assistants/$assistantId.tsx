import { createFileRoute } from '@tanstack/react-router';
import { AssistantEditorPage } from '@/features/studio/assistant-editor';
import { returnToSearch } from '@/features/studio/return-to';

export const Route = createFileRoute('/_app/settings/assistants/$assistantId')({ validateSearch: returnToSearch, component: AssistantEditorPage });
