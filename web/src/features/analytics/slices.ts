/** One category of a pie chart: its label, count and fill colour. */
export interface Slice {
  name: string;
  value: number;
  color: string;
}

/**
 * The slices a pie should draw: the categories with a count above zero, in their order. Recharts labels a zero slice "0"
 * and, when one category holds everything, strokes the lone 360° sector's start edge as a radius line; so empty
 * categories are left out, and {@link sliceStroke} drops the stroke when one slice remains.
 */
export function pieSlices(mix: readonly Slice[]): Slice[] {
  return mix.filter((m) => Number.isFinite(m.value) && m.value > 0);
}

/** The separator stroke between slices: white between two or more, none for a single full circle. */
export function sliceStroke(slices: readonly Slice[]): string {
  return slices.length > 1 ? '#fff' : 'none';
}
