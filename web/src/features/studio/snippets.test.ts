import { describe, expect, it } from 'vitest';
import { PLATFORMS, previewDocument, snippet } from './snippets';
import { safeReturnTo } from './return-to';

describe('widget snippets', () => {
  it('every platform carries the script URL and the key', () => {
    for (const p of PLATFORMS) {
      const s = snippet(p, 'https://sb.example.com/widget.js', 'pk_live_abc');
      expect(s).toContain('https://sb.example.com/widget.js');
      expect(s).toContain('pk_live_abc');
    }
  });
  it('escapes attribute values', () => {
    expect(snippet('html', 'https://x/widget.js', 'pk"><img>')).not.toContain('"><img>');
    expect(previewDocument('https://x/widget.js', 'k', 'fr', 'start', 'ltr')).toContain('data-position="start"');
  });
});

describe('returnTo', () => {
  it('keeps same-origin paths only', () => {
    expect(safeReturnTo('/onboarding')).toBe('/onboarding');
    expect(safeReturnTo('//evil.example')).toBeUndefined();
    expect(safeReturnTo('https://evil.example')).toBeUndefined();
    expect(safeReturnTo('/\\evil')).toBeUndefined();
    expect(safeReturnTo(42)).toBeUndefined();
  });
});
