/** Every query key starts with the tenant id, so switching tenant never shows another tenant's cache. */
export const keys = {
  session: ['session'] as const,
  studio: (tenantId: string) => [tenantId, 'studio'] as const,
  calls: (tenantId: string) => [tenantId, 'calls'] as const,
  call: (tenantId: string, callId: string) => [tenantId, 'call', callId] as const,
  leads: (tenantId: string) => [tenantId, 'leads'] as const,
  sms: (tenantId: string) => [tenantId, 'sms'] as const,
  analytics: (tenantId: string) => [tenantId, 'analytics'] as const,
  live: (tenantId: string) => [tenantId, 'live'] as const,
  plan: (tenantId: string) => [tenantId, 'plan'] as const,
};
