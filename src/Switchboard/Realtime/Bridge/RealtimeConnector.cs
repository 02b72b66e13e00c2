using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Switchboard.Credentials;
using Switchboard.Platform.Net;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// Opens WebSocket sessions to the realtime speech provider (openai-realtime.md §1): <c>{baseUrl}?model={model}</c>,
/// <c>Authorization: Bearer {key}</c> (or Azure's <c>api-key</c> header), no <c>OpenAI-Beta</c> header (GA). One shared
/// <see cref="SocketsHttpHandler"/> serves every call, so a session costs a socket, not a handler.
/// A session to the operator's configured host (<see cref="RealtimeOptions.BaseUrl"/>) is trusted; any other host is
/// tenant-supplied (<c>Tenant.RealtimeBaseUrl</c>) and goes through <see cref="OutboundPolicy"/>'s connect callback
/// (public addresses only unless <see cref="CredentialOptions.AllowPrivateBaseUrls"/>), with no redirects.
/// </summary>
internal sealed class RealtimeConnector(IOptions<RealtimeOptions> options, IOptions<CredentialOptions> credentialOptions) : IDisposable
{
    // Reaching the operator's provider (the TCP connect) is bounded by ConnectTimeoutMs counted while the node keeps up
    // (Deadlines, issue 16): under a burst, a connect the kernel completed at once was timed out by a wall clock while its
    // completion waited behind the node's own queue. The handler's wall-clock timeout is only the cap.
    private readonly HttpMessageInvoker trusted = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromMilliseconds(Math.Max(options.Value.ConnectTimeoutMs, options.Value.ConnectTimeoutCapMs)),
        ConnectCallback = (context, ct) => ConnectTcpAsync(context.DnsEndPoint, options.Value, ct),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        UseCookies = false,
        AllowAutoRedirect = false,
    });

    private readonly SemaphoreSlim slots = new(options.Value.MaxConcurrentConnects, options.Value.MaxConcurrentConnects);

    private readonly HttpMessageInvoker guarded = new(OutboundPolicy.CreateHandler(
        () => credentialOptions.Value.AllowPrivateBaseUrls, TimeSpan.FromMilliseconds(options.Value.ConnectTimeoutMs)));

    /// <summary>The connect and handshake deadlines of every call on the node (real time: the lag probe needs real timers).</summary>
    public ConnectDeadlines Deadlines { get; } = new(TimeProvider.System);

    private static readonly ConnectDeadlines TcpDeadlines = new(TimeProvider.System);

    private static async ValueTask<Stream> ConnectTcpAsync(System.Net.DnsEndPoint endpoint, RealtimeOptions options, CancellationToken ct)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using (TcpDeadlines.Start(timeout, options.ConnectTimeoutMs, Math.Max(options.ConnectTimeoutMs, options.ConnectTimeoutCapMs)))
            {
                await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            }
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for one of the node's <see cref="RealtimeOptions.MaxConcurrentConnects"/> connect turns; false when none comes
    /// within <see cref="RealtimeOptions.ConnectQueueMs"/>. A true result must be followed by <see cref="ReleaseSlot"/>.
    /// </summary>
    public Task<bool> AcquireSlotAsync(CancellationToken ct) => slots.WaitAsync(options.Value.ConnectQueueMs, ct);

    /// <summary>Gives back a connect turn once the socket is connected (or failed).</summary>
    public void ReleaseSlot() => slots.Release();

    /// <summary>True when <paramref name="uri"/> is on the operator's configured host and port (not tenant-supplied).</summary>
    public bool IsOperatorHost(Uri uri) =>
        Uri.TryCreate(options.Value.BaseUrl, UriKind.Absolute, out var configured)
        && string.Equals(configured.IdnHost, uri.IdnHost, StringComparison.OrdinalIgnoreCase) && configured.Port == uri.Port && configured.Scheme == uri.Scheme;

    /// <summary>The session URL for a model: the base URL with <c>model</c> added to its query string.</summary>
    public static Uri SessionUri(string baseUrl, string model)
    {
        var separator = baseUrl.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return new Uri($"{baseUrl}{separator}model={Uri.EscapeDataString(model)}");
    }

    /// <summary>
    /// Connects; throws <see cref="WebSocketException"/>, <see cref="HttpRequestException"/> or
    /// <see cref="OperationCanceledException"/> on failure (a refused address is a <see cref="WebSocketException"/> or
    /// <see cref="HttpRequestException"/> wrapping <see cref="BlockedAddressException"/>).
    /// </summary>
    public async Task<ClientWebSocket> ConnectAsync(Uri uri, string? apiKey, string apiKeyHeader, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        try
        {
            socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
            if (!string.IsNullOrEmpty(apiKey))
            {
                if (apiKeyHeader.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
                {
                    socket.Options.SetRequestHeader("Authorization", "Bearer " + apiKey);
                }
                else
                {
                    socket.Options.SetRequestHeader(apiKeyHeader, apiKey);
                }
            }
            await socket.ConnectAsync(uri, IsOperatorHost(uri) ? trusted : guarded, ct).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        trusted.Dispose();
        guarded.Dispose();
        slots.Dispose();
        Deadlines.Dispose();
    }
}
