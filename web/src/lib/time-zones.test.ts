import { describe, expect, it } from 'vitest';
import { acceptedShape, resolveZone, resolveZoneName, timeZoneChoices, zoneCity, zoneLabel, zoneName } from './time-zones';

describe('timeZoneChoices', () => {
  it('offers the IANA zones the browser knows, UTC first, and keeps the saved and browser zones', () => {
    const zones = timeZoneChoices(['America/Montreal', undefined]);
    expect(zones[0]).toBe('UTC');
    expect(zones).toContain('America/Toronto');
    expect(zones).toContain('America/Montreal');
    expect(zones.length).toBeGreaterThan(300);
    expect(zones.slice(1)).toEqual([...zones.slice(1)].sort());
  });

  it('leaves out what the server refuses (no slash, blank, too long)', () => {
    expect(timeZoneChoices(['EST5EDT', 'Eastern Standard Time', `A/${'x'.repeat(70)}`], ['Europe/Paris'])).toEqual(['UTC', 'Europe/Paris']);
    expect(acceptedShape('UTC')).toBe(true);
    expect(acceptedShape('EST')).toBe(false);
  });
});

describe('resolveZone', () => {
  const zones = timeZoneChoices([], ['America/Toronto', 'America/Sao_Paulo', 'America/Argentina/Buenos_Aires', 'Europe/Paris', 'America/Indiana/Vincennes', 'Asia/Vincennes']);
  it.each([
    ['America/Toronto', 'America/Toronto'],
    ['  america/toronto ', 'America/Toronto'],
    ['Toronto', 'America/Toronto'],
    ['são paulo', 'America/Sao_Paulo'],
    ['buenos aires', 'America/Argentina/Buenos_Aires'],
    ['utc', 'UTC'],
  ])('reads %j as %s', (text, zone) => expect(resolveZone(text, zones)).toBe(zone));

  it.each([[''], ['Tor'], ['Vincennes'], ['Kolkata']])('names no single zone with %j', (text) => expect(resolveZone(text, zones)).toBeUndefined());

  it.each([
    ['Montréal', 'America/Toronto'],
    ['montreal', 'America/Toronto'],
    ['America/Montreal', 'America/Toronto'],
    ['Québec', 'America/Toronto'],
  ])('reads %j, a city the tz database links to a listed zone, as %s', (text, zone) => expect(resolveZone(text, zones)).toBe(zone));

  it('reads a linked city as whichever id of the pair the browser lists', () => {
    expect(resolveZone('Kolkata', ['UTC', 'Asia/Calcutta'])).toBe('Asia/Calcutta'); // Chromium lists CLDR's id
    expect(resolveZone('Calcutta', ['UTC', 'Asia/Kolkata'])).toBe('Asia/Kolkata');
    expect(resolveZone('Kyiv', ['UTC', 'Europe/Kiev'])).toBe('Europe/Kiev');
    expect(resolveZone('ho chi minh', ['UTC', 'Asia/Saigon'])).toBe('Asia/Saigon');
    // The browser's own list finds the cities people type, whatever ids it holds.
    for (const city of ['Montreal', 'Kolkata', 'Calcutta', 'Kyiv', 'Kathmandu']) expect(resolveZone(city, timeZoneChoices()), city).toBeDefined();
  });

  it('a saved linked zone is still read by its own city', () => {
    expect(resolveZone('Montreal', timeZoneChoices(['America/Montreal'], ['America/Toronto']))).toBe('America/Montreal');
  });
});

describe('zoneLabel', () => {
  const winter = new Date('2026-01-15T12:00:00Z');
  it('shows the city and the offset in the reader language', () => {
    expect(zoneCity('America/Argentina/Buenos_Aires')).toBe('Buenos Aires');
    expect(zoneLabel('America/Toronto', 'en', winter)).toBe('Toronto, Montreal, Quebec (UTC-05:00)'); // the list matches labels too
    expect(zoneLabel('America/Toronto', 'fr-CA', winter)).toMatch(/^Toronto, Montreal, Quebec \(UTC[−-]05:00\)$/);
    expect(zoneLabel('Europe/Paris', 'en', winter)).toBe('Paris (UTC+01:00)');
    expect(zoneLabel('UTC', 'ar', winter)).toBe('UTC');
  });
});

describe('zoneName', () => {
  it('names a zone in words in the reader’s language, with its city, and reads that name back as the zone', () => {
    expect(zoneName('America/Toronto', 'fr-CA')).toBe('heure de l’Est (Toronto)');
    expect(zoneName('America/Toronto', 'en-CA')).toBe('Eastern Time (Toronto)');
    expect(zoneName('America/Toronto', 'ar')).toMatch(/\(Toronto\)$/);
    expect(zoneName('UTC', 'fr-CA')).toBe('UTC');
    const zones = timeZoneChoices([], ['America/Toronto', 'America/Vancouver', 'America/Nipigon']);
    const names = new Map(zones.map((z) => [z, zoneName(z, 'fr-CA')]));
    expect(resolveZoneName('Heure de l’Est (Toronto)', zones, names)).toBe('America/Toronto');
    expect(resolveZoneName('vancouver', zones, names)).toBe('America/Vancouver');
    expect(resolveZoneName('heure de l’Est', zones, names)).toBeUndefined();
  });
});
