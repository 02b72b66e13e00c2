import { describe, expect, it } from 'vitest';
import { createTestI18n } from '@/lib/i18n/test-instance';
import { checkText } from './check-text';

describe('checkText', () => {
  it('words a check by its code in the reader’s language, with the values it names', async () => {
    const fr = await createTestI18n();
    await fr.changeLanguage('fr');
    const t = fr.t.bind(fr) as (key: string, options?: Record<string, unknown>) => string;
    expect(checkText({ code: 'VAPI_KEY_REFUSED', message: 'Vapi refused the key (is it the private key, not the public one?).' }, t)).toBe(
      'Vapi a refusé la clé (est-ce bien la clé privée, et non la clé publique ?).',
    );
    expect(checkText({ code: 'OPENAI_HTTP_STATUS', message: 'The model server answered 302.', details: { status: '302' } }, t)).toBe(
      'Le serveur de modèles a répondu avec le statut HTTP 302.',
    );
    expect(checkText({ code: 'OPENAI_BASE_URL_INVALID', message: 'Base URL must use https.', details: { problem: 'must use https' } }, t)).toBe(
      'L’URL de base doit utiliser https.',
    );
  });

  it('keeps the server’s sentence when the code is unknown or a value it names is missing', async () => {
    const fr = await createTestI18n();
    await fr.changeLanguage('fr');
    const t = fr.t.bind(fr) as (key: string, options?: Record<string, unknown>) => string;
    expect(checkText({ code: 'CHECK_FAILED', message: 'Vapi refused the key.' }, t)).toBe('Vapi refused the key.');
    expect(checkText({ code: 'OPENAI_HTTP_STATUS', message: 'The model server answered 500.' }, t)).toBe('The model server answered 500.');
  });
});
