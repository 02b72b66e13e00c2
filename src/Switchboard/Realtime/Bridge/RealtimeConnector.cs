using System.Net.WebSockets;
using Microsoft.Extensions.Options;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// Opens WebSocket sessions to the realtime speech provider (openai-realtime.md §1): <c>{baseUrl}?model={model}</c>,
/// <c>Authorization: Bearer {key}</c> (or Azure's <c>api-key</c> header), no <c>OpenAI-Beta</c> header (GA). One shared
/// <see cref="SocketsHttpHandler"/> serves every call, so a session costs a socket, not a handler.
/// </summary>
internal sealed class RealtimeConnector(IOptions<RealtimeOptions> options) : IDisposable
{
    private readonly HttpMessageInvoker invoker = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromMilliseconds(options.Value.ConnectTimeoutMs),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        UseCookies = false,
    });

    /// <summary>The session URL for a model: the base URL with <c>model</c> added to its query string.</summary>
    public static Uri SessionUri(string baseUrl, string model)
    {
        var separator = baseUrl.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return new Uri($"{baseUrl}{separator}model={Uri.EscapeDataString(model)}");
    }

    /// <summary>Connects; throws <see cref="WebSocketException"/>, <see cref="HttpRequestException"/> or <see cref="OperationCanceledException"/> on failure.</summary>
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
            await socket.ConnectAsync(uri, invoker, ct).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => invoker.Dispose();
}
