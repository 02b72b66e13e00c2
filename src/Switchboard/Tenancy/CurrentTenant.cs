namespace Switchboard.Tenancy;

/// <summary>
/// The tenant the current request or work item acts for. Filled once per request (API key or webhook
/// route) or per outbox item; EF query filters read it, so an unset tenant sees no tenant-owned rows.
/// </summary>
internal sealed class CurrentTenant
{
    public Guid? TenantId { get; private set; }

    /// <summary>Set the tenant. Setting a different tenant twice in one scope is a bug and throws.</summary>
    public void Set(Guid tenantId)
    {
        if (TenantId is { } existing && existing != tenantId)
        {
            throw new InvalidOperationException("The current tenant is already set for this scope.");
        }
        TenantId = tenantId;
    }
}
