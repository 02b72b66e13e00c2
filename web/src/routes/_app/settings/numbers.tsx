import { createFileRoute } from '@tanstack/react-router';
import { NumbersPage } from '@/features/studio/numbers-page';
import { returnToSearch } from '@/features/studio/return-to';

export const Route = createFileRoute('/_app/settings/numbers')({ validateSearch: returnToSearch, component: NumbersPage });
