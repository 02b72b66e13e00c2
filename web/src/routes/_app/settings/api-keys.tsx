import { createFileRoute } from '@tanstack/react-router';
import { ApiKeysPage } from '@/features/admin/api-keys-page';
import { returnToSearch } from '@/features/admin/route-search';

export const Route = createFileRoute('/_app/settings/api-keys')({ validateSearch: returnToSearch, component: ApiKeysPage });
