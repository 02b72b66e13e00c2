using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Switchboard.Webhooks;

/// <summary>Why a destination address is refused.</summary>
internal enum AddressClass
{
    /// <summary>Publicly routable: allowed.</summary>
    Public,

    /// <summary>Loopback, RFC 1918, link-local, CGNAT (RFC 6598), unique-local or site-local IPv6: allowed only with <see cref="WebhookOptions.AllowPrivateNetworks"/>.</summary>
    Private,

    /// <summary>Cloud instance metadata (169.254.169.254, fd00:ec2::254, Azure's 168.63.129.16): never allowed.</summary>
    Metadata,

    /// <summary>Unspecified, multicast, broadcast, documentation, benchmarking or reserved: never a webhook receiver.</summary>
    Reserved,
}

/// <summary>A refused URL or address: an UPPER_SNAKE code for the API and a message.</summary>
internal sealed record UrlRefusal(string Code, string Message, string? Address = null, string? Reason = null);

/// <summary>Thrown from the connect callback when a webhook host resolves to a refused address (DNS rebinding, or a changed record).</summary>
internal sealed class BlockedAddressException(string message) : IOException(message);

/// <summary>
/// Where tenant webhooks may go (DESIGN.md "Security"; shared/protocols/standard-webhooks.md §3 "SSRF protection"):
/// https only outside Development, no credentials in the URL, and every address the host resolves to must be
/// public. The same rule runs twice: when an endpoint is saved (<see cref="ValidateAsync"/>) and inside the HTTP
/// client's connect callback (<see cref="ConnectAsync"/>), so a DNS answer that changes after validation
/// (rebinding) still cannot reach an internal address.
/// </summary>
internal sealed class WebhookUrlPolicy(IOptions<WebhookOptions> options, IHostEnvironment environment)
{
    /// <summary>Longest accepted URL, in characters.</summary>
    public const int MaxUrlLength = 2048;

    private static readonly TimeSpan DnsTimeout = TimeSpan.FromSeconds(5);

    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), // AWS, GCP, Azure IMDS, OpenStack, DigitalOcean…
        IPAddress.Parse("fd00:ec2::254"),   // AWS IMDS over IPv6
        IPAddress.Parse("168.63.129.16"),   // Azure WireServer (a public address, reachable only from inside Azure)
        IPAddress.Parse("100.100.100.200"), // Alibaba Cloud metadata
    ];

    public bool AllowInsecureUrls => options.Value.AllowInsecureUrls ?? environment.IsDevelopment();

    public bool AllowPrivateNetworks => options.Value.AllowPrivateNetworks ?? environment.IsDevelopment();

    /// <summary>Checks a URL an endpoint is saved with; returns the parsed URL or why it is refused.</summary>
    public async Task<(Uri? Url, UrlRefusal? Refusal)> ValidateAsync(string? url, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return (null, new("INVALID_URL", "url is required."));
        }
        if (url.Length > MaxUrlLength)
        {
            return (null, new("INVALID_URL", $"url must be at most {MaxUrlLength} characters."));
        }
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || string.IsNullOrEmpty(uri.Host))
        {
            return (null, new("INVALID_URL", "url must be an absolute https:// URL."));
        }
        if (uri.Scheme == Uri.UriSchemeHttp && !AllowInsecureUrls)
        {
            return (null, new("HTTPS_REQUIRED", "url must use https://."));
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return (null, new("INVALID_URL", "url must not contain credentials; send them in a custom header instead."));
        }
        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            return (null, new("INVALID_URL", "url must not contain a #fragment."));
        }

        IPAddress[] addresses;
        if (LiteralAddress(uri.Host) is { } literal)
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(DnsTimeout);
                addresses = await Dns.GetHostAddressesAsync(uri.IdnHost, timeout.Token);
            }
            catch (Exception e) when (e is SocketException or ArgumentException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                return (null, new("URL_UNRESOLVABLE", $"The host '{uri.Host}' could not be resolved."));
            }
            if (addresses.Length == 0)
            {
                return (null, new("URL_UNRESOLVABLE", $"The host '{uri.Host}' has no addresses."));
            }
        }
        foreach (var address in addresses)
        {
            if (Refuse(address) is { } reason)
            {
                return (null, new("URL_BLOCKED", $"The host '{uri.Host}' resolves to a {reason} address ({address}), where webhooks may not be sent.",
                    address.ToString(), reason));
            }
        }
        return (uri, null);
    }

    /// <summary>Null when <paramref name="address"/> may be connected to under the current settings; else the reason (e.g. <c>loopback</c>).</summary>
    public string? Refuse(IPAddress address)
    {
        var (kind, reason) = Classify(address);
        return kind switch
        {
            AddressClass.Public => null,
            AddressClass.Private when AllowPrivateNetworks => null,
            _ => reason,
        };
    }

    /// <summary>
    /// The <see cref="SocketsHttpHandler.ConnectCallback"/>: resolves the host itself, refuses the connection if any
    /// address is refused, connects, and checks the address actually connected to.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = LiteralAddress(host) is { } literal ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        if (addresses.Length == 0)
        {
            throw new BlockedAddressException($"The host '{host}' has no addresses.");
        }
        foreach (var address in addresses)
        {
            if (Refuse(address) is { } reason)
            {
                throw new BlockedAddressException($"Refused to connect: '{host}' resolves to a {reason} address ({address}).");
            }
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                if (socket.RemoteEndPoint is IPEndPoint remote && Refuse(remote.Address) is { } reason)
                {
                    throw new BlockedAddressException($"Refused: connected to a {reason} address ({remote.Address}).");
                }
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (Exception e) when (e is SocketException or BlockedAddressException)
            {
                socket.Dispose();
                last = e;
                if (e is BlockedAddressException)
                {
                    throw;
                }
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>An IP literal host (IPv6 with or without brackets), else null.</summary>
    private static IPAddress? LiteralAddress(string host) =>
        IPAddress.TryParse(host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host, out var ip) ? ip : null;

    /// <summary>Classifies an address by IANA special-purpose registries (RFC 6890 and successors); <c>reason</c> names the range.</summary>
    internal static (AddressClass Kind, string Reason) Classify(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            address = new IPAddress(address.GetAddressBytes());
        }
        if (MetadataAddresses.Any(m => m.Equals(address)))
        {
            return (AddressClass.Metadata, "cloud metadata");
        }
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return b switch
            {
                [0, ..] => (AddressClass.Reserved, "unspecified"),
                [10, ..] => (AddressClass.Private, "private"),
                [100, var x, ..] when (x & 0xC0) == 64 => (AddressClass.Private, "CGNAT"),
                [127, ..] => (AddressClass.Private, "loopback"),
                [169, 254, ..] => (AddressClass.Private, "link-local"),
                [172, var x, ..] when (x & 0xF0) == 16 => (AddressClass.Private, "private"),
                [192, 168, ..] => (AddressClass.Private, "private"),
                [192, 0, 0, _] => (AddressClass.Reserved, "reserved"),
                [192, 0, 2, _] or [198, 51, 100, _] or [203, 0, 113, _] => (AddressClass.Reserved, "documentation"),
                [198, var x, ..] when (x & 0xFE) == 18 => (AddressClass.Reserved, "benchmarking"),
                [>= 224, ..] => (AddressClass.Reserved, "multicast or reserved"),
                _ => (AddressClass.Public, "public"),
            };
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return (AddressClass.Reserved, "non-IP");
        }
        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return (AddressClass.Private, "loopback");
        }
        if (address.Equals(IPAddress.IPv6Any))
        {
            return (AddressClass.Reserved, "unspecified");
        }
        // Transition formats embed an IPv4 address, which decides: NAT64 (64:ff9b::/96), 6to4 (2002::/16),
        // and the deprecated IPv4-compatible form (::a.b.c.d).
        if (b is [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ..])
        {
            return Classify(new IPAddress(b[12..16]));
        }
        if (b is [0x20, 0x02, ..])
        {
            return Classify(new IPAddress(b[2..6]));
        }
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
        {
            return Classify(new IPAddress(b[12..16]));
        }
        return b switch
        {
            [var x, ..] when (x & 0xFE) == 0xFC => (AddressClass.Private, "unique-local"),
            [0xFE, var x, ..] when (x & 0xC0) == 0x80 => (AddressClass.Private, "link-local"),
            [0xFE, var x, ..] when (x & 0xC0) == 0xC0 => (AddressClass.Private, "site-local"),
            [0xFF, ..] => (AddressClass.Reserved, "multicast"),
            [0x20, 0x01, 0x0D, 0xB8, ..] => (AddressClass.Reserved, "documentation"),
            [0x20, 0x01, 0x00, 0x00, ..] => (AddressClass.Reserved, "Teredo"),
            [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01, ..] => (AddressClass.Reserved, "local NAT64"),
            [0x01, 0x00, 0, 0, 0, 0, 0, 0, ..] => (AddressClass.Reserved, "discard"),
            _ => (AddressClass.Public, "public"),
        };
    }
}
