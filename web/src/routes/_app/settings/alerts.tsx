import { createFileRoute } from '@tanstack/react-router';
import { AlertsPage } from '@/features/studio/alerts-page';

export const Route = createFileRoute('/_app/settings/alerts')({ component: AlertsPage });
