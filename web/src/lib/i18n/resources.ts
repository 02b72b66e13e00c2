import en from './locales/en.json';
import fr from './locales/fr.json';
import he from './locales/he.json';
import ar from './locales/ar.json';
import type { Locale } from '../format/format';

/** A translation tree: nested objects of strings, as i18next reads them. */
export type Tree = { [k: string]: string | Tree };

/**
 * Feature areas keep their strings beside the shared ones, one file per area and language:
 * `areas/<area>.<lang>.json` (e.g. `areas/settings-keys.fr.json`), each holding one top-level key named after
 * the area's namespace. They are merged over the shared `locales/<lang>.json`; a key defined twice is an error.
 */
const areaFiles = import.meta.glob<Tree>('./areas/*.json', { eager: true, import: 'default' });

function merge(into: Tree, from: Tree, path: string): Tree {
  for (const [k, v] of Object.entries(from)) {
    const existing = into[k];
    if (existing === undefined) into[k] = v;
    else if (typeof existing === 'object' && typeof v === 'object') merge(existing, v, `${path}${k}.`);
    else throw new Error(`Translation key defined twice: ${path}${k}`);
  }
  return into;
}

function build(lang: Locale, shared: Tree): Tree {
  const tree = structuredClone(shared);
  for (const [file, content] of Object.entries(areaFiles)) {
    if (file.endsWith(`.${lang}.json`)) merge(tree, content, '');
  }
  return tree;
}

/** Every language's full translation tree (shared strings plus every feature area's). */
export const resources: Record<Locale, Tree> = {
  en: build('en', en as Tree),
  fr: build('fr', fr as Tree),
  he: build('he', he as Tree),
  ar: build('ar', ar as Tree),
};

/** The area files, by path, for tests that check every area exists in every language. */
export const areaFileNames: readonly string[] = Object.keys(areaFiles);
