namespace Switchboard.Widget;

/// <summary>
/// Matching a browser's <c>Origin</c> header against a tenant's allowed origins (frontends.md §3.4): exact scheme, host
/// and port, or a <c>https://*.example.com</c> wildcard (any subdomain, not the apex). Origins are compared in their
/// normalised form (lower case, no default port).
/// </summary>
internal static class WidgetOrigins
{
    /// <summary>
    /// The normalised form of a browser's <c>Origin</c> header, or null when it is absent, <c>null</c> or not a serialized
    /// origin: <c>scheme "://" host [ ":" port ]</c> and nothing else (RFC 6454 §6.1), so userinfo
    /// (<c>https://user:pw@shop.example</c>), a path, a query or a fragment (<c>https://shop.example#x</c>) makes it match
    /// no allowed origin instead of being read as the bare one (<see cref="Uri"/> parses them away).
    /// </summary>
    public static string? Normalize(string? origin)
    {
        if (string.IsNullOrEmpty(origin) || origin.Length > 300 || origin == "null" || !IsSerializedOriginShape(origin)
            || !Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/"
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return null;
        }
        var host = uri.IdnHost.ToLowerInvariant();
        return uri.IsDefaultPort ? $"{uri.Scheme}://{host}" : $"{uri.Scheme}://{host}:{uri.Port}";
    }

    /// <summary>
    /// Whether <paramref name="value"/> has nothing after <c>scheme://</c> but a host and port: no <c>/</c> (path), <c>?</c>
    /// (query), <c>#</c> (fragment), <c>@</c> (userinfo), <c>\</c> (read as <c>/</c> by URL parsers), whitespace or control
    /// character. The characters the header may not hold whatever <see cref="Uri"/> makes of them.
    /// </summary>
    internal static bool IsSerializedOriginShape(string value)
    {
        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        if (scheme <= 0)
        {
            return false;
        }
        foreach (var c in value.AsSpan(scheme + 3))
        {
            if (c is '/' or '?' or '#' or '@' or '\\' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return false;
            }
        }
        return value.Length > scheme + 3;
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
