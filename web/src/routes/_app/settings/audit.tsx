import { createFileRoute } from '@tanstack/react-router';
import { AuditPage } from '@/features/admin/audit-page';
import { auditSearchSchema } from '@/features/admin/audit-search';

export const Route = createFileRoute('/_app/settings/audit')({ validateSearch: auditSearchSchema, component: AuditPage });
