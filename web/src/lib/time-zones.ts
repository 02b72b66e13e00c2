/**
 * IANA time zones for the organisation's zone picker (sign-up and the onboarding profile).
 *
 * The server accepts an IANA id it knows that is `UTC` or has a slash (`America/Toronto`); Windows ids and bare aliases
 * (`EST5EDT`) are refused with VALIDATION_FAILED on `timeZone` (`Validation.IsIanaTimeZone`). The browser's list
 * (`Intl.supportedValuesOf('timeZone')`, ECMA-402 §6.5.2: canonical ids from the IANA database) is filtered to that shape.
 */

/** The zones to offer, sorted, `UTC` first; `extra` (the saved value, the browser's zone) is kept when it has the accepted shape. */
export function timeZoneChoices(extra: readonly (string | undefined)[] = [], supported: readonly string[] = supportedZones()): string[] {
  const zones = new Set<string>();
  for (const z of [...supported, ...extra]) if (z && acceptedShape(z)) zones.add(z);
  zones.delete('UTC');
  return ['UTC', ...[...zones].sort()];
}

/** `UTC` or `Area/Location`, at most 64 characters: the ids the server can accept. */
export function acceptedShape(zone: string): boolean {
  return zone.length <= 64 && (zone === 'UTC' || (zone.includes('/') && !/\s/.test(zone)));
}

function supportedZones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}

/** The city of a zone id, as words: `America/Argentina/Buenos_Aires` → `Buenos Aires`. */
export function zoneCity(zone: string): string {
  return (zone.split('/').pop() ?? zone).replace(/_/g, ' ');
}

const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').replace(/[_\s]+/g, ' ').trim().toLowerCase();

/**
 * Zones known by another city's name: pairs of ids the tz database links (its `backward` file, e.g.
 * `Link America/Toronto America/Montreal`). Browsers list one id of a pair and not always the current one: Chromium
 * lists `Asia/Calcutta`, `Europe/Kiev` and `Asia/Saigon` (CLDR's canonical ids) and never `America/Montreal`; so a typed
 * city may name either id of a pair.
 */
const LINKED_IDS: ReadonlyArray<readonly [string, string]> = [
  ['America/Toronto', 'America/Montreal'],
  ['Asia/Kolkata', 'Asia/Calcutta'],
  ['Europe/Kyiv', 'Europe/Kiev'],
  ['Asia/Ho_Chi_Minh', 'Asia/Saigon'],
  ['Asia/Kathmandu', 'Asia/Katmandu'],
  ['Asia/Yangon', 'Asia/Rangoon'],
  ['America/Nuuk', 'America/Godthab'],
];

/** Cities a zone covers without any id naming them: zone.tab describes America/Toronto as "Eastern - ON & QC (most areas)". */
const OTHER_CITIES: Readonly<Record<string, readonly string[]>> = { 'America/Toronto': ['Quebec'] };

/** The ids the tz database links to `zone` (`America/Toronto` → `America/Montreal`). */
function linkedIds(zone: string): string[] {
  return LINKED_IDS.flatMap(([a, b]) => (zone === a ? [b] : zone === b ? [a] : []));
}

/** The other cities a zone is also known by, as words (`America/Toronto` → Montreal, Quebec; `Asia/Calcutta` → Kolkata). */
export function zoneAliases(zone: string): string[] {
  return [...linkedIds(zone).map(zoneCity), ...(OTHER_CITIES[zone] ?? [])];
}

/**
 * The zone a typed text names: the id itself in any case (`america/toronto`), a city that only one zone has
 * (`toronto`, `buenos aires`, `Sao Paulo` for `America/Sao_Paulo`), or a city the tz database links to a listed zone
 * (`Montréal` → `America/Toronto`, `Kolkata` → `Asia/Calcutta` where the browser lists that id; see LINKED_IDS);
 * undefined when it names none or several.
 */
export function resolveZone(text: string, zones: readonly string[]): string | undefined {
  const wanted = fold(text);
  if (!wanted) return undefined;
  const exact = zones.find((z) => fold(z) === wanted);
  if (exact) return exact;
  const byCity = zones.filter((z) => fold(zoneCity(z)) === wanted);
  if (byCity.length > 0) return byCity.length === 1 ? byCity[0] : undefined;
  const linked = zones.filter((z) => zoneAliases(z).some((city) => fold(city) === wanted) || linkedIds(z).some((id) => fold(id) === wanted));
  return linked.length === 1 ? linked[0] : undefined;
}

/**
 * How a zone is shown in the list: its city, the cities linked to it (so the list, which matches the label too, finds
 * `Montreal`), and its current UTC offset in the reader's language (`Toronto, Montreal, Quebec (UTC−05:00)` in English and
 * French); the id alone when the browser does not know the zone.
 */
export function zoneLabel(zone: string, locale: string, at: Date = new Date()): string {
  if (zone === 'UTC') return 'UTC';
  try {
    const offset = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value;
    const cities = [zoneCity(zone), ...zoneAliases(zone)].join(', ');
    return offset ? `${cities} (${offset.replace(/^GMT/, 'UTC')})` : cities;
  } catch {
    return zone;
  }
}

/**
 * A zone in words, in the reader's language: its generic name (`Intl.DateTimeFormat` `timeZoneName: 'longGeneric'`,
 * ECMA-402 §11.1.1; it reads the same in winter and summer) and its city, "heure de l’Est (Toronto)", "Eastern Time
 * (Toronto)"; the city alone when the browser has no generic name for the zone, and `UTC` as it is. The id stays what is
 * saved: this is only what the owner reads.
 */
export function zoneName(zone: string, locale: string): string {
  if (zone === 'UTC') return 'UTC';
  const city = zoneCity(zone);
  try {
    const generic = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: 'longGeneric' }).formatToParts(new Date(Date.UTC(2026, 0, 15))).find((p) => p.type === 'timeZoneName')?.value;
    if (!generic || /^(GMT|UTC)([+−-]|$)/.test(generic)) return city;
    return generic.includes(city) ? generic : `${generic} (${city})`;
  } catch {
    return zone;
  }
}

/** The zone a text names when it is a zone's name in words as {@link zoneName} writes it (case and accents aside); else {@link resolveZone}. */
export function resolveZoneName(text: string, zones: readonly string[], names: ReadonlyMap<string, string>): string | undefined {
  const wanted = fold(text);
  const named = zones.filter((z) => fold(names.get(z) ?? '') === wanted);
  return named.length === 1 ? named[0] : resolveZone(text, zones);
}
