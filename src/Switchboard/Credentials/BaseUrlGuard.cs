using Switchboard.Platform.Net;

namespace Switchboard.Credentials;

/// <summary>
/// Checks a tenant-supplied OpenAI-compatible base URL before Switchboard stores or calls it, with
/// <see cref="OutboundPolicy"/>: absolute https (http only when private addresses are allowed), no credentials, query
/// or fragment, and, unless <see cref="CredentialOptions.AllowPrivateBaseUrls"/>, a host that resolves only to public
/// addresses. Answers a short problem for the <c>baseUrl</c> field, or null.
/// </summary>
internal static class BaseUrlGuard
{
    public const int MaxLength = 500;

    public static async Task<string?> ProblemAsync(string? url, bool allowPrivate, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > MaxLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "must be an absolute URL";
        }
        if (uri.Scheme != Uri.UriSchemeHttps && !(allowPrivate && uri.Scheme == Uri.UriSchemeHttp))
        {
            return "must use https";
        }
        var (_, refusal) = await OutboundPolicy.ValidateUrlAsync(url, Rules(allowPrivate), ct);
        return refusal?.Code switch
        {
            null => null,
            "URL_UNRESOLVABLE" => "host does not resolve",
            "URL_BLOCKED" => "must not point at a private or local address",
            _ => "must not contain credentials, a query or a fragment",
        };
    }

    /// <summary>The rules for base URLs: https (http with the development switch), no query, at most 500 characters.</summary>
    public static OutboundUrlRules Rules(bool allowPrivate) => new(allowPrivate, AllowInsecure: allowPrivate, AllowQuery: false, MaxLength: MaxLength);
}
