import { describe, expect, it } from 'vitest';
import { resources, type Tree } from './i18n/resources';
import { TRANSCRIPT_ROLES, turnKind } from './transcript';

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
