import { z } from 'zod';
import { startOfDayInZone } from '@/lib/format/format';

/** A real calendar day in ISO 8601 (`2026-11-01`; not `2026-13-45` or `2026-02-31`, which have no midnight to send). */
const day = z
  .string()
  .regex(/^[1-9]\d{3}-\d{2}-\d{2}$/)
  .refine((d) => {
    const noon = new Date(`${d}T12:00:00Z`);
    return !Number.isNaN(noon.getTime()) && noon.toISOString().startsWith(d);
  });

/** The audit log's filters, kept in the URL: action (exact or prefix ending in "."), actor type, first and last day, page. */
export const auditSearchSchema = z.object({
  action: z.string().max(100).optional().catch(undefined),
  actorType: z.enum(['user', 'api_key', 'operator', 'system', 'anonymous']).optional().catch(undefined),
  actorId: z.string().max(200).optional().catch(undefined),
  from: day.optional().catch(undefined),
  to: day.optional().catch(undefined),
  page: z.number().int().min(1).max(100000).optional().catch(undefined),
  returnTo: z.string().max(200).optional().catch(undefined),
});
export type AuditSearch = z.infer<typeof auditSearchSchema>;

/** The API query: days are whole days in the tenant's zone, `to` inclusive (sent as the next midnight, exclusive). */
export function toAuditQuery(s: AuditSearch, timeZone: string) {
  const midnight = (d: string, daysAgo: number) => startOfDayInZone(new Date(`${d}T12:00:00Z`), timeZone, daysAgo);
  return {
    action: s.action?.trim() || undefined,
    actorType: s.actorType,
    actorId: s.actorId,
    from: s.from ? midnight(s.from, 0) : undefined,
    to: s.to ? midnight(s.to, -1) : undefined,
    page: s.page,
  };
}
