import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { I18nextProvider } from 'react-i18next';
import { createTestI18n } from '@/lib/i18n/test-instance';
import { FieldError } from './return-to';

/** The widget page's answer to an origin it refuses (Widget/WidgetApi.cs), as the dashboard receives it. */
const ORIGIN_PROBLEM =
  'must be an https origin such as https://www.example.com or https://*.example.com, or http://localhost[:port] / http://127.0.0.1[:port] (no path or query)';

async function render(lng: string, message: string | undefined) {
  const i18n = await createTestI18n();
  await i18n.changeLanguage(lng);
  return renderToStaticMarkup(createElement(I18nextProvider, { i18n }, createElement(FieldError, { id: 'err-origin-0', message })));
}

describe('studio FieldError', () => {
  it('shows a server field problem in the reader language, not the server English', async () => {
    const fr = await render('fr', ORIGIN_PROBLEM);
    expect(fr).toContain('Entrez une origine https');
    expect(fr).not.toContain('must be');
    expect(await render('ar', ORIGIN_PROBLEM)).toContain('أدخل مصدرًا يستخدم https');
    expect(await render('fr', 'must be at most 80 characters')).toContain('80');
  });

  it('keeps a message it does not know, and renders nothing without one', async () => {
    expect(await render('fr', 'Numéro déjà utilisé')).toContain('Numéro déjà utilisé');
    expect(await render('fr', undefined)).toBe('');
  });
});
