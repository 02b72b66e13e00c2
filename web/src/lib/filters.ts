/**
 * True when a list's URL search narrows it: any value set other than the `ignore`d keys (paging, sort). An empty list
 * then says "No calls match." (change the filters); without filters it says "No calls yet." (nothing has happened).
 */
export function hasFilters(search: Readonly<Record<string, unknown>>, ignore: readonly string[] = []): boolean {
  return Object.entries(search).some(([k, v]) => !ignore.includes(k) && v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === ''));
}
