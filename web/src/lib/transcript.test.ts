import { describe, expect, it } from 'vitest';
import { resources, type Tree } from './i18n/resources';
import { readableJson, readableToolText, TRANSCRIPT_ROLES, turnKind } from './transcript';

describe('transcript roles', () => {
  it.each(Object.keys(resources))('every role the host writes is named in %s (no raw "tool_call" on the call page)', (lng) => {
    const roles = (resources[lng as keyof typeof resources] as Tree).roles as Tree;
    for (const role of TRANSCRIPT_ROLES) {
      expect(typeof roles[role], `roles.${role} in ${lng}`).toBe('string');
      expect(roles[role]).not.toContain('_');
    }
  });

  it('tool calls and their results are not shown as the caller speaking', () => {
    expect(turnKind('tool_call')).toBe('tool');
    expect(turnKind('tool_result')).toBe('tool');
    expect(turnKind('user')).toBe('caller');
    expect(turnKind('customer')).toBe('caller');
    expect(turnKind('assistant')).toBe('assistant');
    expect(turnKind('bot')).toBe('assistant');
  });
});

describe('tool turns shown to people', () => {
  it('a knowledge-base result reads as text, without JSON escapes', () => {
    const raw =
      '{"found":true,"results":[{"heading":"Heures, territoire et tarifs \\u203A Territoire\\u00A0desservi","text":"jusqu\\u0027\\u00E0 Terrebonne\\net Blainville.","score":1}]}';
    const shown = readableToolText(raw);
    expect(shown).toBe(
      ['found: true', 'results:', '  - heading: Heures, territoire et tarifs › Territoire\u00A0desservi', "    text: jusqu'à Terrebonne", '      et Blainville.', '    score: 1'].join('\n'),
    );
    expect(shown).not.toContain('\\u');
  });

  it('a tool call shows its name and its arguments, one per line', () => {
    expect(readableToolText('capture_lead({ "name": "Jos\\u00E9e", "urgency": "emergency" })')).toBe('capture_lead\n  name: Josée\n  urgency: emergency');
    expect(readableToolText('end_call({})')).toBe('end_call');
  });

  it('several calls joined by Vapi are each shown', () => {
    expect(readableToolText('check_business_hours({}); end_call({"reason":"goodbye"})')).toBe('check_business_hours\nend_call\n  reason: goodbye');
  });

  it('text that is not JSON is left as written', () => {
    expect(readableToolText('The tool failed: timeout')).toBe('The tool failed: timeout');
    expect(readableToolText('capture_lead(not json)')).toBe('capture_lead(not json)');
    expect(readableToolText('"just a string"')).toBe('"just a string"');
  });

  it('nested values and empty lists stay readable', () => {
    expect(readableJson({ a: { b: [1, 2] }, c: [], d: null })).toBe('a:\n  b:\n    - 1\n    - 2\nc: []\nd: null');
  });
});
