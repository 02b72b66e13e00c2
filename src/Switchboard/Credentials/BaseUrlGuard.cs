using System.Net;
using System.Net.Sockets;

namespace Switchboard.Credentials;

/// <summary>
/// Checks a tenant-supplied base URL before Switchboard calls it: absolute https (http only when private
/// addresses are allowed), no credentials, query or fragment, and, unless allowed, a host that resolves only to
/// public addresses (no loopback, RFC 1918, link-local, CGNAT, unique-local or multicast ranges).
/// </summary>
internal static class BaseUrlGuard
{
    public static async Task<string?> ProblemAsync(string? url, bool allowPrivate, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > 500 || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "must be an absolute URL";
        }
        if (uri.Scheme != Uri.UriSchemeHttps && !(allowPrivate && uri.Scheme == Uri.UriSchemeHttp))
        {
            return "must use https";
        }
        if (!string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            return "must not contain credentials, a query or a fragment";
        }
        if (allowPrivate)
        {
            return null;
        }
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(uri.DnsSafeHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(uri.DnsSafeHost, ct);
        }
        catch (SocketException)
        {
            return "host does not resolve";
        }
        return addresses.Length == 0 ? "host does not resolve" : addresses.Any(IsPrivate) ? "must not point at a private or local address" : null;
    }

    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return b[0] == 10 || b[0] == 0 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] >= 224;
        }
        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b[0] & 0xFE) == 0xFC;
    }
}
