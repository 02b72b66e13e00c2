import { createFileRoute } from '@tanstack/react-router';
import { PlanPage } from '@/features/admin/plan-page';
import { returnToSearch } from '@/features/admin/route-search';

export const Route = createFileRoute('/_app/settings/plan')({ validateSearch: returnToSearch, component: PlanPage });
