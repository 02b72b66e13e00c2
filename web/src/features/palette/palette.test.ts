import { describe, expect, it } from 'vitest';
import { fold, isPaletteShortcut, matchPages, moveActive, paletteSearch } from './palette';

describe('command palette helpers', () => {
  it('opens on Ctrl-K and Cmd-K only', () => {
    expect(isPaletteShortcut({ key: 'k', ctrlKey: true, metaKey: false, altKey: false })).toBe(true);
    expect(isPaletteShortcut({ key: 'K', ctrlKey: false, metaKey: true, altKey: false })).toBe(true);
    expect(isPaletteShortcut({ key: 'k', ctrlKey: false, metaKey: false, altKey: false })).toBe(false);
    expect(isPaletteShortcut({ key: 'k', ctrlKey: true, metaKey: false, altKey: true })).toBe(false);
    expect(isPaletteShortcut({ key: 'j', ctrlKey: true, metaKey: false, altKey: false })).toBe(false);
  });

  it('searches phone-like text by digits and other text by words', () => {
    expect(paletteSearch('(514) 555-01')).toEqual({ kind: 'number', number: '51455501' });
    expect(paletteSearch(' +1 438 ')).toEqual({ kind: 'number', number: '1438' });
    expect(paletteSearch('51')).toBeNull(); // the API needs 3 digits
    expect(paletteSearch('Tremblay')).toEqual({ kind: 'text', q: 'Tremblay' });
    expect(paletteSearch('sous-sol 514')).toEqual({ kind: 'text', q: 'sous-sol 514' });
    expect(paletteSearch('é')).toBeNull();
    expect(paletteSearch('   ')).toBeNull();
    expect(paletteSearch('1'.repeat(30))).toEqual({ kind: 'number', number: '1'.repeat(20) });
  });

  it('matches pages ignoring accents and case, in any script', () => {
    const pages = [
      { to: '/calls', label: 'Appels' },
      { to: '/analytics', label: 'Analytique' },
      { to: '/live', label: 'En direct' },
      { to: '/leads', label: 'لوحة العملاء' },
    ];
    expect(matchPages(pages, 'APP').map((p) => p.to)).toEqual(['/calls']);
    expect(matchPages(pages, 'ana').map((p) => p.to)).toEqual(['/analytics']);
    expect(matchPages(pages, 'العملاء').map((p) => p.to)).toEqual(['/leads']);
    expect(matchPages(pages, '')).toHaveLength(4);
    expect(fold('Écoute ÀÉÎ')).toBe('ecoute aei');
  });

  it('moves the active option with wrap-around', () => {
    expect(moveActive(-1, 3, 'ArrowDown')).toBe(0);
    expect(moveActive(2, 3, 'ArrowDown')).toBe(0);
    expect(moveActive(0, 3, 'ArrowUp')).toBe(2);
    expect(moveActive(1, 3, 'End')).toBe(2);
    expect(moveActive(2, 3, 'Home')).toBe(0);
    expect(moveActive(5, 2, 'x')).toBe(1);
    expect(moveActive(0, 0, 'ArrowDown')).toBe(-1);
  });
});
