import { createFileRoute } from '@tanstack/react-router';
import { z } from 'zod';
import { LeadsPage } from '@/features/leads/leads-page';

const search = z.object({
  status: z.enum(['new', 'contacted', 'booked', 'lost']).optional().catch(undefined),
  urgency: z.enum(['emergency', 'urgent', 'soon', 'routine']).optional().catch(undefined),
  q: z.string().max(200).optional().catch(undefined),
});

export const Route = createFileRoute('/_app/leads')({ validateSearch: search, component: LeadsPage });
