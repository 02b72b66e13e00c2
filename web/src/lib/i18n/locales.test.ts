import { describe, expect, it } from 'vitest';
import i18next from 'i18next';
import { areaFileNames, resources, type Tree } from './resources';

const { en, fr, he, ar } = resources;

function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [`${prefix}${k}`] : keys(v, `${prefix}${k}.`)));
}

/** Every key with its string, in document order. */
function entries(tree: Tree, prefix = ''): [string, string][] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [[`${prefix}${k}`, v] as [string, string]] : entries(v, `${prefix}${k}.`)));
}

/** Plural suffixes differ per language (Arabic has six forms), so compare base keys. */
function base(list: string[]): string[] {
  return [...new Set(list.map((k) => k.replace(/_(zero|one|two|few|many|other)$/, '')))].sort();
}

describe('locales', () => {
  const reference = base(keys(en as Tree));
  it.each([
    ['fr', fr],
    ['he', he],
    ['ar', ar],
  ])('%s has exactly the English keys', (_name, tree) => {
    expect(base(keys(tree as Tree))).toEqual(reference);
  });

  it('Arabic has every plural form for counted strings', () => {
    const arKeys = keys(ar as Tree);
    for (const k of keys(en as Tree).filter((x) => x.endsWith('_other'))) {
      const stem = k.replace(/_other$/, '');
      for (const form of ['zero', 'one', 'two', 'few', 'many', 'other']) expect(arKeys).toContain(`${stem}_${form}`);
    }
  });

  it('French reads as a Québec French interface, not as a translation (no "sont répondus", no "RTL" jargon)', () => {
    // "Répondre à un appel" takes an indirect object, so it has no passive: "on répond aux appels". "RTL" means nothing to
    // an owner: the languages are named.
    const words = /sont répondus|\bRTL\b|\bLTR\b/;
    const found = keys(fr as Tree).filter((k) => words.test(k.split('.').reduce<Tree | string>((t, part) => (t as Tree)[part]!, fr as Tree) as string));
    expect(found).toEqual([]);
  });

  it('in Arabic and Hebrew, an interpolated version, zone id, phone number, e-mail, URL or host and a Latin menu path are isolated, so "2026-01" is not shown "01-2026" nor "+1 514-555-0123" "0123-555-514 1+"', () => {
    // A hyphen or slash between digits takes the paragraph's direction (UAX #9 W4-W7 resolve "2026-01" as two runs).
    const found = (['he', 'ar'] as const).flatMap((name) => {
      const tree = resources[name] as Tree;
      return keys(tree)
        .map((k) => [k, k.split('.').reduce<Tree | string>((t, part) => (t as Tree)[part]!, tree) as string] as const)
        .filter(([, v]) => /(?<!\u2066)\{\{(version|zone|phone|number|email|url|sender|host|address)\}\}/.test(v) || /(?<![\u2066\w ])[A-Za-z][\w ]* → [A-Za-z]/.test(v))
        .map(([k]) => `${name} ${k}`);
    });
    expect(found).toEqual([]);
  });

  it('French uses the typographic apostrophe (’), never the typewriter one, so one sentence does not mix both', () => {
    // "l'entreprise" beside "l’assistant" read as two hands having written the interface; Québec typography (OQLF,
    // Banque de dépannage linguistique, « Apostrophe ») uses ’. A straight quote elsewhere (code, markup) is left alone.
    const found = keys(fr as Tree).filter((k) => /\p{L}'\p{L}/u.test(k.split('.').reduce<Tree | string>((t, part) => (t as Tree)[part]!, fr as Tree) as string));
    expect(found).toEqual([]);
  });

  it('no value is empty', () => {
    for (const tree of [en, fr, he, ar]) {
      const walk = (t: Tree) => Object.values(t).forEach((v) => (typeof v === 'string' ? expect(v.trim()).not.toBe('') : walk(v)));
      walk(tree as Tree);
    }
  });

  it('in Arabic and Hebrew, a Latin token that ends in punctuation is isolated, so it reads as written', () => {
    // Inside right-to-left text the Unicode bidi algorithm gives the neutral characters after a Latin run ("_…", "://…")
    // the paragraph's direction: "(sk_live_…)" was shown "(…_sk_live)" and "(https://…)" "(…//:https)". A left-to-right
    // isolate (U+2066 … U+2069, UAX #9 §2.7) keeps the token in its own order.
    const unisolated = /(?<![\w:/.\u2066-])[A-Za-z][\w:/.-]*…/g;
    for (const [name, tree] of [['he', he], ['ar', ar]] as const) {
      const found = keys(tree as Tree).flatMap((k) => {
        const value = k.split('.').reduce<Tree | string>((t, part) => (t as Tree)[part]!, tree as Tree) as string;
        return [...value.matchAll(unisolated)].map((m) => `${name} ${k}: ${m[0]}`);
      });
      expect(found).toEqual([]);
    }
  });

  describe('no visible string is left in English', () => {
    // "Webhooks" stayed the webhooks page's title in French, Hebrew and Arabic. A value identical to the English one is
    // allowed only when each of its words is a name or code read the same in every language (a vendor, a product, a file
    // format), or, per language, a word that is spelled the same there (French "Conversations", "Notes", "Restaurant").
    const NAMES = [
      'Vapi', 'Twilio', 'API', 'URL', 'SMS', 'HTML', 'PDF', 'Markdown', 'CRM', 'Pro', 'WordPress', 'Shopify', 'React',
      'Google Calendar', 'Outlook Calendar', 'Calendly', 'Cal.com', 'HubSpot', 'Salesforce', 'Pipedrive', 'Zoho',
      'Jobber', 'Housecall Pro', 'Slack', 'Microsoft Teams', 'Google Workspace', 'utm_source', 'min',
    ];
    /** Words spelled the same in the language as in English, with the same meaning in the interface. */
    const SAME_WORD: Record<'fr' | 'he' | 'ar', string[]> = {
      fr: [
        'action', 'actions', 'active', 'assistant', 'conversations', 'description', 'documents', 'invitations', 'messages',
        'notes', 'page', 'pages', 'passage', 'passages', 'position', 'restaurant', 'source', 'test', 'web',
      ],
      he: [],
      ar: [],
    };
    const names = new RegExp(NAMES.map((n) => `(?<![\\p{L}\\d_])${n.replace(/[.]/g, '\\.')}(?![\\p{L}\\d_])`).join('|'), 'gu');
    const english = Object.fromEntries(entries(en as Tree));

    it.each([
      ['fr', fr],
      ['he', he],
      ['ar', ar],
    ] as const)('%s translates every string that has words to translate', (name, tree) => {
      const same = new Set(SAME_WORD[name]);
      const found = entries(tree as Tree)
        .filter(([k, v]) => english[k] === v)
        .filter(([, v]) => {
          const words = v.replace(/\{\{[^}]*\}\}/g, ' ').replace(names, ' ').match(/\p{L}+/gu) ?? [];
          return words.some((w) => !same.has(w.toLowerCase()));
        })
        .map(([k, v]) => `${k}: ${v}`);
      expect(found).toEqual([]);
    });
  });

  it('every feature area has a file in every language', () => {
    const areas = new Set(areaFileNames.map((f) => f.replace(/\.(en|fr|he|ar)\.json$/, '')));
    for (const area of areas) for (const lang of ['en', 'fr', 'he', 'ar']) expect(areaFileNames).toContain(`${area}.${lang}.json`);
  });
});

describe('counted strings', () => {
  it('one simultaneous call is singular, and the phone-number reminder is translated', async () => {
    const i18n = i18next.createInstance();
    await i18n.init({ resources: Object.fromEntries(Object.entries(resources).map(([l, tree]) => [l, { translation: tree }])), lng: 'en', fallbackLng: false });
    const en = i18n.getFixedT('en');
    expect(en('onboarding.plan.details', { minutes: '500', count: 1 })).toBe('500 minutes included, 1 simultaneous call');
    expect(en('onboarding.plan.details', { minutes: '500', count: 3 })).toBe('500 minutes included, 3 simultaneous calls');
    expect(i18n.getFixedT('fr')('onboarding.plan.details', { minutes: '500', count: 1 })).toContain('1 appel simultané');
    for (const lng of ['fr', 'he', 'ar']) expect(i18n.getFixedT(lng)('onboarding.missing.telephony.number')).not.toMatch(/attach|onboarding\./i);
  });
});


describe('option lists', () => {
  /** Groups whose values are the options of one filter list (calls and leads): two options must never read the same. */
  const OPTION_GROUPS = ['status', 'urgency', 'direction', 'filters.ranges', 'filters.durations', 'leadStatus'];
  const at = (tree: Tree, path: string): Tree | undefined =>
    path.split('.').reduce<Tree | undefined>((t, k) => (t && typeof t[k] === 'object' ? (t[k] as Tree) : undefined), tree);

  it.each([
    ['en', en],
    ['fr', fr],
    ['he', he],
    ['ar', ar],
  ])('%s gives every option of a list its own label', (_name, tree) => {
    for (const group of OPTION_GROUPS) {
      const options = at(tree as Tree, group);
      expect([group, options === undefined]).toEqual([group, false]);
      if (!options) continue;
      const labels = Object.values(options).filter((v): v is string => typeof v === 'string');
      expect([group, labels.length]).toEqual([group, new Set(labels).size]);
    }
  });
});
