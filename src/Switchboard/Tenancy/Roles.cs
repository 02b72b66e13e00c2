namespace Switchboard.Tenancy;

/// <summary>
/// Roles within a tenant and what each may do. Unknown roles may do nothing (fail closed).
/// <list type="bullet">
/// <item><c>owner</c>: everything, including the plan, owners and erasing the tenant.</item>
/// <item><c>admin</c>: configuration (credentials, assistants, numbers, keys, onboarding, team except owners, compliance except tenant erasure).</item>
/// <item><c>member</c>: reads (calls, assistants, numbers, usage, onboarding), and works the leads inbox (a lead's status, notes
/// and assignee through <c>PATCH /api/v1/leads/{id}</c>, which needs only <see cref="Permission.Read"/>); no configuration.</item>
/// </list>
/// A secret API key acts with the <c>admin</c> permissions except <see cref="Permission.ManageTeam"/>: team management is for
/// signed-in people, so a leaked key cannot invite a person it controls and turn itself into a lasting login (probe E, F3).
/// An operator acts as <c>owner</c> in any tenant.
/// </summary>
internal static class Roles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Member = "member";

    public static readonly string[] All = [Owner, Admin, Member];

    public static bool IsValid(string? role) => role is Owner or Admin or Member;

    /// <summary>Whether <paramref name="role"/> grants <paramref name="permission"/>.</summary>
    public static bool Allows(string? role, Permission permission) => role switch
    {
        Owner => true,
        Admin => permission is not (Permission.ManagePlan or Permission.ManageOwners or Permission.EraseTenant),
        Member => permission is Permission.Read,
        _ => false,
    };

    /// <summary>
    /// Whether <paramref name="role"/> grants <paramref name="permission"/> to a caller authenticated by a secret API key
    /// (<paramref name="apiKey"/>) or by a signed-in session: a key never holds <see cref="Permission.ManageTeam"/>.
    /// </summary>
    public static bool Allows(string? role, Permission permission, bool apiKey) =>
        !(apiKey && permission is Permission.ManageTeam) && Allows(role, permission);

    /// <summary>Rank used to stop a user granting more than they hold.</summary>
    public static int Rank(string? role) => role switch { Owner => 3, Admin => 2, Member => 1, _ => 0 };
}

/// <summary>What an endpoint needs. Checked by the <c>perm:*</c> authorization policies.</summary>
public enum Permission
{
    /// <summary>Read the tenant's data, and work the leads inbox (status, notes, assignee): everyday work, not configuration.</summary>
    Read,

    /// <summary>Change configuration: onboarding, studio, assistants, numbers, credentials, keys, origins, retention.</summary>
    Configure,

    /// <summary>Invite, change and remove admins and members (signed-in people only: never a secret API key).</summary>
    ManageTeam,

    /// <summary>Grant or remove the owner role.</summary>
    ManageOwners,

    /// <summary>Change the plan.</summary>
    ManagePlan,

    /// <summary>Read the audit log, export and erase callers' data.</summary>
    Compliance,

    /// <summary>Erase the whole tenant.</summary>
    EraseTenant,
}
