namespace Switchboard.Widget;

/// <summary>
/// Matching a browser's <c>Origin</c> header against a tenant's allowed origins (frontends.md §3.4): exact scheme, host
/// and port, or a <c>https://*.example.com</c> wildcard (any subdomain, not the apex). Origins are compared in their
/// normalised form (lower case, no default port).
/// </summary>
internal static class WidgetOrigins
{
    /// <summary>The normalised form of a browser's <c>Origin</c> header, or null when it is absent, <c>null</c> or malformed.</summary>
    public static string? Normalize(string? origin)
    {
        if (string.IsNullOrEmpty(origin) || origin.Length > 300 || origin == "null" || !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query) || origin.EndsWith('/'))
        {
            return null;
        }
        var host = uri.IdnHost.ToLowerInvariant();
        return uri.IsDefaultPort ? $"{uri.Scheme}://{host}" : $"{uri.Scheme}://{host}:{uri.Port}";
    }

    /// <summary>True when <paramref name="origin"/> (normalised) is one of <paramref name="allowed"/> or under one of its wildcards.</summary>
    public static bool IsAllowed(string origin, IEnumerable<string> allowed)
    {
        foreach (var entry in allowed)
        {
            if (string.Equals(entry, origin, StringComparison.Ordinal))
            {
                return true;
            }
            var star = entry.IndexOf("://*.", StringComparison.Ordinal);
            if (star > 0)
            {
                var scheme = entry[..(star + 3)];
                var suffix = entry[(star + 4)..]; // ".example.com[:port]"
                if (origin.StartsWith(scheme, StringComparison.Ordinal) && origin.EndsWith(suffix, StringComparison.Ordinal)
                    && origin.Length > scheme.Length + suffix.Length && !origin[scheme.Length..^suffix.Length].Contains(':'))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
