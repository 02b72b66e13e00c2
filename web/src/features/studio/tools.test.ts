import { describe, expect, it } from 'vitest';
import { resources, type Tree } from '@/lib/i18n/resources';
import { TOOLS } from './api';

describe('assistant tools in the studio', () => {
  it('texting the caller can be turned on, and the always-on knowledge base is not a checkbox', () => {
    expect(TOOLS).toContain('send_sms');
    expect(TOOLS).not.toContain('search_knowledge_base');
  });

  it.each(Object.keys(resources))('every tool has a label in %s', (lng) => {
    const tools = ((resources[lng as keyof typeof resources] as Tree).studio as Tree).tools as Tree;
    for (const tool of TOOLS) expect(typeof tools[tool], `studio.tools.${tool} in ${lng}`).toBe('string');
  });
});
