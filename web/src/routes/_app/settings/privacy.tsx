import { createFileRoute } from '@tanstack/react-router';
import { PrivacyPage } from '@/features/admin/privacy-page';
import { returnToSearch } from '@/features/admin/route-search';

export const Route = createFileRoute('/_app/settings/privacy')({ validateSearch: returnToSearch, component: PrivacyPage });
