import { describe, expect, it } from 'vitest';
import { hasFilters } from './filters';

describe('hasFilters', () => {
  it('is false for no search, unset or blank values, and ignored keys', () => {
    expect(hasFilters({})).toBe(false);
    expect(hasFilters({ status: undefined, q: '  ' })).toBe(false);
    expect(hasFilters({ page: 2 }, ['page'])).toBe(false);
  });

  it('is true when any filter narrows the list', () => {
    expect(hasFilters({ urgency: 'emergency' })).toBe(true);
    expect(hasFilters({ hasRecording: false })).toBe(true);
    expect(hasFilters({ q: 'fuite', page: 2 }, ['page'])).toBe(true);
  });
});
