import { describe, expect, it } from 'vitest';
import { teamPermissions } from './permissions';

describe('teamPermissions', () => {
  it('lets owners do everything', () => {
    const p = teamPermissions('owner');
    expect(p.grantable).toEqual(['owner', 'admin', 'member']);
    expect(p.canEdit('owner')).toBe(true);
  });
  it('lets admins manage admins and members but not owners', () => {
    const p = teamPermissions('admin');
    expect(p.grantable).toEqual(['admin', 'member']);
    expect(p.canEdit('owner')).toBe(false);
    expect(p.canEdit('member')).toBe(true);
  });
  it('gives members and unknown roles nothing', () => {
    for (const role of ['member', 'auditor', undefined]) {
      const p = teamPermissions(role);
      expect(p.manageTeam).toBe(false);
      expect(p.grantable).toEqual([]);
      expect(p.canEdit('member')).toBe(false);
    }
  });
});
