import { createFileRoute } from '@tanstack/react-router';
import { z } from 'zod';
import { AnalyticsPage } from '@/features/analytics/analytics-page';

const search = z.object({ range: z.enum(['7d', '30d', '90d']).optional().catch(undefined) });

export const Route = createFileRoute('/_app/analytics')({ validateSearch: search, component: AnalyticsPage });
