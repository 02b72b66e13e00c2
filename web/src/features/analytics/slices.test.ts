import { describe, expect, it } from 'vitest';
import { pieSlices, sliceStroke, type Slice } from './slices';

describe('urgency pie slices', () => {
  const emergency: Slice = { name: 'Emergency', value: 1, color: '#dc2626' };
  const soon: Slice = { name: 'Soon', value: 0, color: '#d97706' };
  const routine: Slice = { name: 'Routine', value: 0, color: '#059669' };
  const mix = [emergency, soon, routine];

  it('leaves empty categories out and draws a single full circle without a separator', () => {
    const slices = pieSlices(mix);
    expect(slices.map((s) => s.name)).toEqual(['Emergency']);
    expect(sliceStroke(slices)).toBe('none');
  });

  it('keeps every non-empty category in order, separated', () => {
    const slices = pieSlices([{ ...emergency, value: 2 }, soon, { ...routine, value: 5 }]);
    expect(slices.map((s) => [s.name, s.value])).toEqual([['Emergency', 2], ['Routine', 5]]);
    expect(sliceStroke(slices)).toBe('#fff');
  });
});
