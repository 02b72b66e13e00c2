/** What a role may do on the Team page: the same rules as the API (Tenancy/Roles.cs and TeamApi). */
export function teamPermissions(role: string | undefined) {
  const manageTeam = role === 'owner' || role === 'admin';
  const manageOwners = role === 'owner';
  return {
    manageTeam,
    manageOwners,
    /** Roles this user may grant (in an invitation or a role change). */
    grantable: manageOwners ? ['owner', 'admin', 'member'] : manageTeam ? ['admin', 'member'] : [],
    /** Whether this user may change or remove a member who holds `memberRole`. */
    canEdit: (memberRole: string) => manageTeam && (memberRole !== 'owner' || manageOwners),
  };
}
