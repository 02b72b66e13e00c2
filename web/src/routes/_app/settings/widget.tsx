import { createFileRoute } from '@tanstack/react-router';
import { WidgetPage } from '@/features/studio/widget-page';
import { returnToSearch } from '@/features/studio/return-to';

export const Route = createFileRoute('/_app/settings/widget')({ validateSearch: returnToSearch, component: WidgetPage });
