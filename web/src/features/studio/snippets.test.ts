import { describe, expect, it } from 'vitest';
import { installScriptUrl, PLATFORMS, previewDocument, snippet } from './snippets';
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

describe('installScriptUrl', () => {
  it('prints the origin the dashboard was opened at when the server only knows a loopback name', () => {
    expect(installScriptUrl('http://localhost:8084/widget.js', 'http://127.0.0.1:8084')).toBe('http://127.0.0.1:8084/widget.js');
    expect(installScriptUrl('http://localhost:8084/widget.js', 'http://192.168.1.5:8084')).toBe('http://192.168.1.5:8084/widget.js');
    expect(installScriptUrl('http://127.0.0.1:8084/widget.js', 'http://localhost:8084')).toBe('http://localhost:8084/widget.js');
  });
  it('keeps a configured public URL and an identical origin', () => {
    expect(installScriptUrl('https://sb.example.com/widget.js', 'http://127.0.0.1:8084')).toBe('https://sb.example.com/widget.js');
    expect(installScriptUrl('http://localhost:8084/widget.js', 'http://localhost:8084')).toBe('http://localhost:8084/widget.js');
    expect(installScriptUrl('not a url', 'http://127.0.0.1:8084')).toBe('not a url');
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
