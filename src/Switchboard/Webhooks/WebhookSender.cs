using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Cluster;
using Switchboard.Platform.Http;
using Switchboard.Platform.Net;

namespace Switchboard.Webhooks;

/// <summary>What one POST to a receiver produced. <see cref="StatusCode"/> is null when no response arrived.</summary>
internal sealed record SendOutcome(int? StatusCode, int LatencyMs, string? ResponseExcerpt, string? Error, TimeSpan? RetryAfter)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>
/// The one HTTP client for tenant webhooks (a singleton: its connection pool is shared by every delivery).
/// Redirects are not followed (a 3xx is a failure, spec §"Operational considerations"), no proxy is used (the
/// connect callback must see the real destination), every connection goes through
/// <see cref="WebhookUrlPolicy.ConnectCallback"/>, each attempt is bounded by <see cref="WebhookOptions.TimeoutSeconds"/>
/// end to end, and only the first <see cref="WebhookOptions.ResponseExcerptBytes"/> of a response body are read (as text that
/// can be stored: U+0000 and invalid UTF-8 become U+FFFD).
/// </summary>
internal sealed class WebhookSender : IDisposable
{
    private const string UserAgent = "Switchboard-Webhooks/1.0 (+https://www.standardwebhooks.com)";

    private readonly HttpClient http;
    private readonly IOptions<WebhookOptions> options;
    private readonly TimeProvider clock;

    public WebhookSender(WebhookUrlPolicy policy, IOptions<WebhookOptions> options, TimeProvider clock)
    {
        this.options = options;
        this.clock = clock;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            ConnectCallback = policy.ConnectCallback,
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(10, options.Value.TimeoutSeconds)),
            // Pooled connections are re-made (and their address re-checked) at least this often.
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxResponseHeadersLength = 64,
        };
        http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// POSTs <paramref name="body"/> as <c>application/json</c> with the custom and Standard Webhooks headers.
    /// Never throws for the receiver's behaviour (timeouts, refusals and blocked addresses are outcomes); throws
    /// <see cref="OperationCanceledException"/> only when <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task<SendOutcome> SendAsync(Uri url, IReadOnlyDictionary<string, string> customHeaders, IReadOnlyList<KeyValuePair<string, string>> webhookHeaders,
        byte[] body, CancellationToken ct)
    {
        var timeoutSeconds = options.Value.TimeoutSeconds;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        var watch = Stopwatch.StartNew();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
            };
            foreach (var (name, value) in customHeaders)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
            request.Headers.UserAgent.ParseAdd(UserAgent);
            foreach (var (name, value) in webhookHeaders)
            {
                request.Headers.Remove(name);
                request.Headers.TryAddWithoutValidation(name, value);
            }
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var excerpt = await ReadExcerptAsync(response, options.Value.ResponseExcerptBytes, timeout.Token, ct);
            return new SendOutcome((int)response.StatusCode, Elapsed(watch), excerpt, null, RetryAfterOf(response));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new SendOutcome(null, Elapsed(watch), null, $"Timed out after {timeoutSeconds} s.", null);
        }
        catch (HttpRequestException e)
        {
            var blocked = Find<BlockedAddressException>(e);
            return new SendOutcome(null, Elapsed(watch), null, blocked?.Message ?? Describe(e), null);
        }
    }

    public void Dispose() => http.Dispose();

    private static int Elapsed(Stopwatch watch) => (int)Math.Min(int.MaxValue, watch.ElapsedMilliseconds);

    /// <summary>
    /// Up to <paramref name="maxBytes"/> of the response body, for the delivery log. The status code is the receiver's answer
    /// (a 2xx is success: Stripe and Svix judge by the status alone), so a body cut short by a closed connection
    /// (<see cref="HttpIOException"/>, "response ended prematurely") or by the attempt's timeout (<paramref name="attempt"/>)
    /// keeps what arrived instead of turning an answered attempt into an exception or a timeout.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> (the worker's) was cancelled.</exception>
    private static async Task<string?> ReadExcerptAsync(HttpResponseMessage response, int maxBytes, CancellationToken attempt, CancellationToken ct)
    {
        var buffer = new byte[maxBytes];
        var total = 0;
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(attempt);
            while (total < maxBytes)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(total), attempt);
                if (read == 0)
                {
                    break;
                }
                total += read;
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            // Keep the excerpt read so far.
        }
        // Stored as text in the delivery log: invalid UTF-8 decodes to U+FFFD, and so must U+0000 (PostgreSQL text rejects
        // it: a receiver answering a binary body made the attempt's save fail, so the attempt was never logged).
        return total == 0 ? null : Encoding.UTF8.GetString(buffer, 0, total).Replace('\0', '\uFFFD');
    }

    /// <summary>
    /// <c>Retry-After</c> as delta-seconds or an HTTP date (RFC 9110 §10.2.3); a date is measured from the injected clock,
    /// the one the delivery's next attempt is scheduled by (a date in the past is a negative span: no later than planned).
    /// </summary>
    private TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - clock.GetUtcNow(),
        _ => null,
    };

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T match)
            {
                return match;
            }
        }
        return null;
    }

    private static string Describe(HttpRequestException e)
    {
        var message = e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
        return TolerantJson.Cap(message, 500);
    }
}

/// <summary>
/// Bounds the requests in flight to each endpoint (<see cref="WebhookOptions.MaxConcurrencyPerEndpoint"/>), across every
/// node on PostgreSQL (leases that expire after the attempt timeout plus 30 s) and per node on SQLite
/// (<see cref="ClusterConcurrency"/>), so a slow receiver holds at most that many worker slots sending. When every slot is
/// held, up to as many deliveries again wait on this node for one to free, each for at most
/// <see cref="WebhookOptions.SlotWaitMilliseconds"/>; the rest, and those whose wait runs out, are deferred. Issue 13: with no
/// wait at all, a busy endpoint's deliveries beyond its bound went back to the outbox for 1–3 s, each one a claim and a save
/// for nothing, and an endpoint answering in milliseconds got a few dozen deliveries a second under load.
/// </summary>
internal sealed class WebhookEndpointGate(IOptions<WebhookOptions> options, ClusterConcurrency concurrency)
{
    /// <summary>Deliveries waiting on this node for a slot, per endpoint (an entry per endpoint ever saturated here: a few bytes each).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, StrongBox<int>> waiting = new();

    /// <summary>
    /// Takes a slot for <paramref name="endpointId"/>: at once when one is free, else by waiting (see the type's remarks); dispose
    /// the result to release it. Null when the delivery should be deferred: every slot held and either the endpoint's waiters
    /// are already as many as its slots, or none freed within <see cref="WebhookOptions.SlotWaitMilliseconds"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled while waiting.</exception>
    public async ValueTask<IAsyncDisposable?> EnterAsync(Guid endpointId, CancellationToken ct)
    {
        var settings = options.Value;
        var key = $"webhook-endpoint:{endpointId:N}";
        var ttl = TimeSpan.FromSeconds(settings.TimeoutSeconds + 30);
        if (await concurrency.TryEnterAsync(key, settings.MaxConcurrencyPerEndpoint, ttl, ct) is { } slot)
        {
            return slot;
        }
        if (settings.SlotWaitMilliseconds == 0)
        {
            return null;
        }
        var waiters = waiting.GetOrAdd(endpointId, _ => new StrongBox<int>());
        try
        {
            if (Interlocked.Increment(ref waiters.Value) > settings.MaxConcurrencyPerEndpoint)
            {
                return null;
            }
            return await concurrency.EnterAsync(key, settings.MaxConcurrencyPerEndpoint, ttl, TimeSpan.FromMilliseconds(settings.SlotWaitMilliseconds), ct);
        }
        finally
        {
            Interlocked.Decrement(ref waiters.Value);
        }
    }
}
