import { describe, expect, it } from 'vitest';
import { createTestI18n } from './i18n/test-instance';
import { templateName } from './template-name';
import catalogue from '../../../src/Switchboard/Templates/assistant-templates.json';

const i18n = await createTestI18n();
const trades = (catalogue as { trade: string }[]).map((e) => e.trade);

describe('templateName', () => {
  it('names every trade of the server’s gallery in every language of the dashboard', () => {
    expect(trades.length).toBeGreaterThan(0);
    for (const lng of ['en', 'fr', 'he', 'ar']) {
      const t = i18n.getFixedT(lng);
      for (const trade of trades) {
        const name = templateName({ trade, name: 'SERVER NAME' }, t);
        expect(name, `${lng} ${trade}`).not.toBe('SERVER NAME');
        expect(name, `${lng} ${trade}`).not.toMatch(/templates\./);
      }
    }
  });

  it('an Arabic or Hebrew dashboard does not show the English or French gallery name', () => {
    const plumbing = { trade: 'plumbing', name: 'Plumbing receptionist' };
    expect(templateName(plumbing, i18n.getFixedT('ar'))).toBe('موظف استقبال للسباكة');
    expect(templateName(plumbing, i18n.getFixedT('he'))).toMatch(/[\u0590-\u05FF]/);
    expect(templateName({ trade: 'plumbing', name: 'Réceptionniste plomberie' }, i18n.getFixedT('en'))).toBe('Plumbing receptionist');
  });

  it('a trade the dashboard does not know yet keeps the server’s name', () => {
    expect(templateName({ trade: 'beekeeping', name: 'Beekeeping receptionist' }, i18n.getFixedT('ar'))).toBe('Beekeeping receptionist');
  });
});
