import { createFileRoute } from '@tanstack/react-router';
import { WebhooksPage } from '@/features/admin/webhooks-page';
import { returnToSearch } from '@/features/admin/route-search';

export const Route = createFileRoute('/_app/settings/webhooks')({ validateSearch: returnToSearch, component: WebhooksPage });
