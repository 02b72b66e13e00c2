import { describe, expect, it } from 'vitest';
import { createTestI18n } from './i18n/test-instance';
import { planName } from './plan-name';

describe('planName', () => {
  it('translates the catalog plans and keeps an unknown plan as the server names it', async () => {
    const i18n = await createTestI18n();
    const fr = i18n.getFixedT('fr');
    const ar = i18n.getFixedT('ar');
    expect(planName(fr, { id: 'free', name: 'Free' })).toBe('Gratuit');
    expect(planName(fr, { id: 'telephony', name: 'Telephony' })).toBe('Téléphonie');
    expect(planName(fr, { id: 'enterprise', name: 'Enterprise' })).toBe('Enterprise');
    expect(planName(ar, { id: 'free', name: 'Free' })).not.toBe('Free');
  });
});
