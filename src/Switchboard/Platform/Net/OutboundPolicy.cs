using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Switchboard.Platform.Net;

/// <summary>Why a destination address is refused.</summary>
internal enum AddressClass
{
    /// <summary>Publicly routable: allowed.</summary>
    Public,

    /// <summary>
    /// Loopback, RFC 1918, link-local, CGNAT (RFC 6598), unique-local or site-local IPv6, or one of this host's own
    /// interface addresses: allowed only where the caller's development switch allows private networks.
    /// </summary>
    Private,

    /// <summary>Cloud instance metadata (169.254.169.254, 169.254.170.2, fd00:ec2::254, 168.63.129.16, 100.100.100.200): never allowed.</summary>
    Metadata,

    /// <summary>Unspecified, multicast, broadcast, documentation, benchmarking, reserved or tunnelling formats: never a destination.</summary>
    Reserved,
}

/// <summary>A refused URL or address: an UPPER_SNAKE code for the API and a message.</summary>
internal sealed record UrlRefusal(string Code, string Message, string? Address = null, string? Reason = null);

/// <summary>Thrown from the connect callback when a host resolves to a refused address (DNS rebinding, or a changed record).</summary>
internal sealed class BlockedAddressException(string message) : IOException(message);

/// <summary>What a caller accepts in a URL besides the address rules.</summary>
/// <param name="AllowPrivate">Development/test switch: loopback, private and this host's addresses are allowed (metadata and reserved never are).</param>
/// <param name="AllowInsecure">Plain <c>http</c>/<c>ws</c> is allowed (otherwise only <c>https</c>/<c>wss</c>).</param>
/// <param name="AllowQuery">A query string is allowed (webhooks yes, base URLs no).</param>
/// <param name="WebSocket">The URL is a WebSocket URL (<c>wss</c>/<c>ws</c>) rather than HTTP.</param>
/// <param name="MaxLength">Longest accepted URL, in characters.</param>
internal sealed record OutboundUrlRules(bool AllowPrivate, bool AllowInsecure, bool AllowQuery = true, bool WebSocket = false, int MaxLength = 2048);

/// <summary>
/// The one policy for every outbound connection to a tenant-supplied host (webhook endpoints, OpenAI-compatible base
/// URLs and their credential checks, realtime provider sessions, future knowledge-base fetches). DESIGN.md "Security";
/// shared/protocols/standard-webhooks.md §3 "SSRF protection". Addresses are judged against the IANA IPv4 and IPv6
/// special-purpose address registries (RFC 6890 and its successors), the cloud metadata endpoints, and this host's own
/// interface addresses. The rule runs twice: when a URL is saved (<see cref="ValidateUrlAsync"/>) and inside the
/// connection's <see cref="SocketsHttpHandler.ConnectCallback"/> (<see cref="ConnectCallback"/>), which resolves the
/// name itself, refuses if any address is refused, and connects only to checked addresses, so DNS rebinding or a
/// changed record cannot reach an internal address. Handlers from <see cref="CreateHandler"/> never follow redirects
/// and never use a proxy (the callback must see the real destination).
/// </summary>
internal static class OutboundPolicy
{
    private static readonly TimeSpan DnsTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan InterfaceCacheLifetime = TimeSpan.FromSeconds(30);

    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), // AWS, GCP, Azure IMDS, OpenStack, DigitalOcean, Oracle…
        IPAddress.Parse("169.254.170.2"),   // AWS ECS task metadata / credentials
        IPAddress.Parse("fd00:ec2::254"),   // AWS IMDS over IPv6
        IPAddress.Parse("168.63.129.16"),   // Azure WireServer (a public address, reachable only from inside Azure)
        IPAddress.Parse("100.100.100.200"), // Alibaba Cloud metadata
    ];

    private static InterfaceSnapshot? interfaceCache; // a reference: read and replaced atomically

    private sealed record InterfaceSnapshot(long At, HashSet<IPAddress> Addresses);

    /// <summary>This host's own interface addresses (cached 30 s): a public address of the host reaches its own services.</summary>
    public static IReadOnlySet<IPAddress> LocalAddresses()
    {
        var now = Environment.TickCount64;
        if (Volatile.Read(ref interfaceCache) is { } cached && now - cached.At < InterfaceCacheLifetime.TotalMilliseconds)
        {
            return cached.Addresses;
        }
        var set = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    set.Add(Normalize(unicast.Address));
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Unreadable interfaces: the range rules still apply.
        }
        Volatile.Write(ref interfaceCache, new InterfaceSnapshot(now, set));
        return set;
    }

    /// <summary>Null when <paramref name="address"/> may be connected to; else the reason (e.g. <c>loopback</c>, <c>cloud metadata</c>).</summary>
    public static string? Refuse(IPAddress address, bool allowPrivate) => Refuse(address, allowPrivate, LocalAddresses());

    internal static string? Refuse(IPAddress address, bool allowPrivate, IReadOnlySet<IPAddress> local)
    {
        var (kind, reason) = Classify(address, local);
        return kind switch
        {
            AddressClass.Public => null,
            AddressClass.Private when allowPrivate => null,
            _ => reason,
        };
    }

    /// <summary>
    /// Checks a URL a tenant saves: absolute, scheme per <paramref name="rules"/>, no credentials or fragment, and every
    /// address the host resolves to allowed. Codes: <c>INVALID_URL</c>, <c>HTTPS_REQUIRED</c>, <c>URL_UNRESOLVABLE</c>,
    /// <c>URL_BLOCKED</c> (with the address and reason).
    /// </summary>
    public static async Task<(Uri? Url, UrlRefusal? Refusal)> ValidateUrlAsync(string? url, OutboundUrlRules rules, CancellationToken ct)
    {
        var (secure, insecure) = rules.WebSocket ? ("wss", "ws") : (Uri.UriSchemeHttps, Uri.UriSchemeHttp);
        if (string.IsNullOrWhiteSpace(url))
        {
            return (null, new("INVALID_URL", "url is required."));
        }
        if (url.Length > rules.MaxLength)
        {
            return (null, new("INVALID_URL", $"url must be at most {rules.MaxLength} characters."));
        }
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != secure && uri.Scheme != insecure) || string.IsNullOrEmpty(uri.Host))
        {
            return (null, new("INVALID_URL", $"url must be an absolute {secure}:// URL."));
        }
        if (uri.Scheme == insecure && !rules.AllowInsecure)
        {
            return (null, new("HTTPS_REQUIRED", $"url must use {secure}://."));
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return (null, new("INVALID_URL", "url must not contain credentials; send them in a custom header instead."));
        }
        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            return (null, new("INVALID_URL", "url must not contain a #fragment."));
        }
        if (!rules.AllowQuery && !string.IsNullOrEmpty(uri.Query))
        {
            return (null, new("INVALID_URL", "url must not contain a query string."));
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
                addresses = await ResolveAsync(uri.IdnHost, timeout.Token);
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
        var local = LocalAddresses();
        foreach (var address in addresses)
        {
            if (Refuse(address, rules.AllowPrivate, local) is { } reason)
            {
                return (null, new("URL_BLOCKED", $"The host '{uri.Host}' resolves to a {reason} address ({address}), where Switchboard may not connect.",
                    address.ToString(), reason));
            }
        }
        return (uri, null);
    }

    /// <summary>
    /// A handler for tenant-supplied hosts: every connection through <see cref="ConnectCallback"/>, no redirects, no
    /// proxy, no cookies. <paramref name="allowPrivate"/> is read at each connection (options can change).
    /// </summary>
    public static SocketsHttpHandler CreateHandler(Func<bool> allowPrivate, TimeSpan connectTimeout) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectCallback = ConnectCallback(allowPrivate),
        ConnectTimeout = connectTimeout,
        // Pooled connections are re-made (and their address re-checked) at least this often.
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>
    /// The <see cref="SocketsHttpHandler.ConnectCallback"/>: resolves the host itself, throws
    /// <see cref="BlockedAddressException"/> if any address is refused, connects to the checked addresses in turn,
    /// and checks the address actually connected to.
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback(Func<bool> allowPrivate) =>
        (context, ct) => ConnectAsync(context.DnsEndPoint, allowPrivate(), ct);

    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, bool allowPrivate, CancellationToken ct)
    {
        var host = endpoint.Host;
        var addresses = LiteralAddress(host) is { } literal ? [literal] : await ResolveAsync(host, ct);
        if (addresses.Length == 0)
        {
            throw new BlockedAddressException($"The host '{host}' has no addresses.");
        }
        var local = LocalAddresses();
        foreach (var address in addresses)
        {
            if (Refuse(address, allowPrivate, local) is { } reason)
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
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), ct);
                if (socket.RemoteEndPoint is IPEndPoint remote && Refuse(remote.Address, allowPrivate, local) is { } reason)
                {
                    throw new BlockedAddressException($"Refused: connected to a {reason} address ({remote.Address}).");
                }
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private static readonly ConcurrentDictionary<string, Queue<IPAddress[]>> TestNames = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Test seam for DNS rebinding: gives a name under the reserved <c>.test</c> top-level domain a sequence of answers.
    /// Each resolution takes the next answer and the last one sticks, as a rebinding name does (a public answer with a
    /// TTL of 0 when the URL is checked, an internal one when the connection is made). RFC 6761 §6.2 reserves
    /// <c>.test</c>: real DNS never answers for it, so nothing pinned here can change where a deployed host connects.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not under <c>.test</c>, or no answer is given.</exception>
    internal static void PinTestName(string host, params IPAddress[][] answers)
    {
        if (!host.EndsWith(".test", StringComparison.OrdinalIgnoreCase) || answers.Length == 0)
        {
            throw new ArgumentException("Only names under .test can be pinned, with at least one answer.", nameof(host));
        }
        TestNames[host] = new Queue<IPAddress[]>(answers);
    }

    /// <summary>The host's addresses: a pinned <c>.test</c> name's next answer (<see cref="PinTestName"/>), else the system resolver.</summary>
    private static async ValueTask<IPAddress[]> ResolveAsync(string host, CancellationToken ct)
    {
        if (host.EndsWith(".test", StringComparison.OrdinalIgnoreCase) && TestNames.TryGetValue(host, out var answers))
        {
            lock (answers)
            {
                return answers.Count > 1 ? answers.Dequeue() : answers.Peek();
            }
        }
        return await Dns.GetHostAddressesAsync(host, ct);
    }

    /// <summary>An IP literal host (IPv6 with or without brackets), else null.</summary>
    internal static IPAddress? LiteralAddress(string host) =>
        IPAddress.TryParse(host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host, out var ip) ? ip : null;

    /// <summary>Classifies an address with no knowledge of this host's interfaces.</summary>
    internal static (AddressClass Kind, string Reason) Classify(IPAddress address) => Classify(address, new HashSet<IPAddress>());

    /// <summary>
    /// Classifies an address by the IANA special-purpose registries; <c>Reason</c> names the range. Transition formats
    /// that carry an IPv4 destination (IPv4-mapped <c>::ffff:0:0/96</c>, NAT64 <c>64:ff9b::/96</c>, 6to4 <c>2002::/16</c>)
    /// are judged by the embedded address; the deprecated IPv4-compatible form (<c>::a.b.c.d</c>), local-use NAT64
    /// (<c>64:ff9b:1::/48</c>), SIIT (<c>::ffff:0:a.b.c.d</c>), Teredo and the rest of <c>2001::/23</c> are refused outright.
    /// IPv6 outside global unicast (<c>2000::/3</c>) is refused unless listed.
    /// </summary>
    internal static (AddressClass Kind, string Reason) Classify(IPAddress address, IReadOnlySet<IPAddress> local)
    {
        address = Normalize(address);
        if (MetadataAddresses.Any(m => m.Equals(address)))
        {
            return (AddressClass.Metadata, "cloud metadata");
        }
        (AddressClass Kind, string Reason) result = address.AddressFamily switch
        {
            AddressFamily.InterNetwork => ClassifyV4(address.GetAddressBytes()),
            AddressFamily.InterNetworkV6 => ClassifyV6(address, local),
            _ => (AddressClass.Reserved, "non-IP"),
        };
        return result.Kind == AddressClass.Public && local.Contains(address) ? (AddressClass.Private, "this host's own") : result;
    }

    private static (AddressClass Kind, string Reason) ClassifyV4(byte[] b) => b switch
    {
        [0, ..] => (AddressClass.Reserved, "unspecified"),                                          // 0/8 "this network"
        [10, ..] => (AddressClass.Private, "private"),                                             // RFC 1918
        [100, var x, ..] when (x & 0xC0) == 64 => (AddressClass.Private, "CGNAT"),                 // 100.64/10, RFC 6598
        [127, ..] => (AddressClass.Private, "loopback"),
        [169, 254, ..] => (AddressClass.Private, "link-local"),
        [172, var x, ..] when (x & 0xF0) == 16 => (AddressClass.Private, "private"),
        [192, 168, ..] => (AddressClass.Private, "private"),
        [192, 0, 0, _] => (AddressClass.Reserved, "reserved"),                                     // IETF protocol assignments, DS-Lite, NAT64 discovery
        [192, 0, 2, _] or [198, 51, 100, _] or [203, 0, 113, _] => (AddressClass.Reserved, "documentation"),
        [192, 31, 196, _] or [192, 175, 48, _] => (AddressClass.Reserved, "reserved"),             // AS112
        [192, 52, 193, _] => (AddressClass.Reserved, "reserved"),                                  // AMT
        [192, 88, 99, _] => (AddressClass.Reserved, "reserved"),                                   // 6to4 relay anycast (deprecated)
        [198, var x, ..] when (x & 0xFE) == 18 => (AddressClass.Reserved, "benchmarking"),         // 198.18/15
        [255, 255, 255, 255] => (AddressClass.Reserved, "broadcast"),
        [>= 224, ..] => (AddressClass.Reserved, "multicast or reserved"),                          // 224/4 and 240/4
        _ => (AddressClass.Public, "public"),
    };

    private static (AddressClass Kind, string Reason) ClassifyV6(IPAddress address, IReadOnlySet<IPAddress> local)
    {
        var b = address.GetAddressBytes();
        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return (AddressClass.Private, "loopback");
        }
        if (address.Equals(IPAddress.IPv6Any))
        {
            return (AddressClass.Reserved, "unspecified");
        }
        if (b is [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ..])
        {
            return Classify(new IPAddress(b[12..16]), local); // NAT64 well-known prefix, RFC 6052
        }
        if (b is [0x20, 0x02, ..])
        {
            return Classify(new IPAddress(b[2..6]), local);   // 6to4, RFC 3056
        }
        return b switch
        {
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ..] => (AddressClass.Reserved, "IPv4-compatible"),        // ::a.b.c.d, deprecated (RFC 4291)
            [0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, ..] => (AddressClass.Reserved, "IPv4-translated"),  // ::ffff:0:a.b.c.d (RFC 2765)
            [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01, ..] => (AddressClass.Reserved, "local NAT64"),            // 64:ff9b:1::/48, RFC 8215
            [0x01, 0x00, 0, 0, 0, 0, 0, 0, ..] => (AddressClass.Reserved, "discard"),                      // 100::/64
            [0x20, 0x01, 0x0D, 0xB8, ..] => (AddressClass.Reserved, "documentation"),                      // 2001:db8::/32
            [0x20, 0x01, 0x00, 0x00, ..] => (AddressClass.Reserved, "Teredo"),                             // 2001::/32
            [0x20, 0x01, var x, ..] when x < 0x02 => (AddressClass.Reserved, "reserved"),                  // 2001::/23 IETF protocol assignments
            [0x3F, 0xFF, var x, ..] when x < 0x10 => (AddressClass.Reserved, "documentation"),             // 3fff::/20, RFC 9637
            [0x26, 0x20, 0x00, 0x4F, 0x80, 0x00, ..] => (AddressClass.Reserved, "reserved"),               // AS112 direct delegation
            [0x5F, 0x00, ..] => (AddressClass.Reserved, "reserved"),                                       // SRv6 SIDs, RFC 9602
            [var x, ..] when (x & 0xFE) == 0xFC => (AddressClass.Private, "unique-local"),                 // fc00::/7
            [0xFE, var x, ..] when (x & 0xC0) == 0x80 => (AddressClass.Private, "link-local"),             // fe80::/10
            [0xFE, var x, ..] when (x & 0xC0) == 0xC0 => (AddressClass.Private, "site-local"),             // fec0::/10
            [0xFF, ..] => (AddressClass.Reserved, "multicast"),
            [var x, ..] when (x & 0xE0) != 0x20 => (AddressClass.Reserved, "reserved"),                    // outside 2000::/3
            _ => (AddressClass.Public, "public"),
        };
    }

    /// <summary>IPv4-mapped addresses as IPv4, and IPv6 without its scope id.</summary>
    private static IPAddress Normalize(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        return address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0 ? new IPAddress(address.GetAddressBytes()) : address;
    }
}
