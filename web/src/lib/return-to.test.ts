import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './return-to';

describe('safeReturnTo', () => {
  it('keeps a same-origin path', () => {
    expect(safeReturnTo('/onboarding')).toBe('/onboarding');
    expect(safeReturnTo('/onboarding?step=twilio')).toBe('/onboarding?step=twilio');
  });
  it('ignores anything else', () => {
    for (const bad of ['https://evil.example/', '//evil.example', '/\\evil.example', 'onboarding', '', 42, undefined, 'javascript:alert(1)']) {
      expect(safeReturnTo(bad)).toBeUndefined();
    }
  });
});
