import { z } from 'zod';

// zod 4 probes `new Function` (its JIT) when schemas are built; the dashboard's CSP (script-src 'self') forbids eval,
// and the probe alone is reported as a violation. Imported first by main.tsx, before any schema exists.
z.config({ jitless: true });
