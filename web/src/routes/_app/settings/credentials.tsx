import { createFileRoute } from '@tanstack/react-router';
import { z } from 'zod';
import { CredentialsPage } from '@/features/credentials/credentials-page';

const search = z.object({ returnTo: z.string().max(500).optional().catch(undefined) });

export const Route = createFileRoute('/_app/settings/credentials')({ validateSearch: search, component: CredentialsPage });
