import { describe, expect, it } from 'vitest';
import { createTestI18n } from '@/lib/i18n/test-instance';
import { syncProblem } from './api';

describe('syncProblem', () => {
  it('translates the missing-Vapi-key state in every locale instead of showing the English server text', async () => {
    const i18n = await createTestI18n();
    for (const lng of ['fr-CA', 'he', 'ar', 'en']) {
      await i18n.changeLanguage(lng);
      const text = syncProblem({ syncStatus: 'waiting-for-credentials', syncError: 'Add the Vapi private API key to push this assistant.' }, (k) => i18n.t(k));
      expect(text, lng).toContain('Vapi');
      expect(text, lng).not.toContain('studio.sync');
      if (lng !== 'en') expect(text, lng).not.toContain('Add the');
    }
  });

  it("shows Vapi's own message for a failed sync, and nothing when there is no problem", async () => {
    const i18n = await createTestI18n();
    const t = (k: string) => i18n.t(k);
    expect(syncProblem({ syncStatus: 'failed', syncError: 'assistant.model.provider must be one of …' }, t)).toBe('assistant.model.provider must be one of …');
    expect(syncProblem({ syncStatus: 'synced', syncError: null }, t)).toBeNull();
  });
});
