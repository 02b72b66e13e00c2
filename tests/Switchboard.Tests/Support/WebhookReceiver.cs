using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Support;

/// <summary>
/// A tenant's Standard Webhooks receiver on 127.0.0.1: records every POST (raw body bytes and headers) and answers
/// as the test says: <see cref="StatusCode"/> (default 200), a dropped connection (<see cref="Abort"/>), or held open
/// until <see cref="Hold"/> completes (a slow receiver). <see cref="MaxInFlight"/> is the most requests it saw at once.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private int inFlight;
    private int maxInFlight;

    public sealed record Received(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, int AnsweredWith)
    {
        public string Text => Encoding.UTF8.GetString(Body);
        public string Id => Headers["webhook-id"];
        public string Type => JsonNode.Parse(Text)!["type"]!.GetValue<string>();
        public JsonNode Data => JsonNode.Parse(Text)!["data"]!;
        public long Timestamp => long.Parse(Headers["webhook-timestamp"], System.Globalization.CultureInfo.InvariantCulture);
    }

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Status code answered while not aborting or holding.</summary>
    public volatile int StatusCode = 200;

    /// <summary>Drop the connection without an answer (a crashed receiver).</summary>
    public volatile bool Abort;

    /// <summary>When set, requests wait for it before answering.</summary>
    public volatile TaskCompletionSource? Hold;

    /// <summary>Body of every answer.</summary>
    public volatile string ResponseBody = "ok";

    /// <summary>Extra answer headers (e.g. Location, Retry-After).</summary>
    public ConcurrentDictionary<string, string> ResponseHeaders { get; } = new();

    public string BaseUrl { get; }

    /// <summary>The receiver's URL by IP literal: <c>http://127.0.0.1:{port}/hook</c>.</summary>
    public string Url => BaseUrl + "/hook";

    public int MaxInFlight => Volatile.Read(ref maxInFlight);

    public int InFlight => Volatile.Read(ref inFlight);

    private WebhookReceiver(WebApplication app, string baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.Run(http => receiver!.HandleAsync(http));
        await app.StartAsync();
        receiver = new WebhookReceiver(app, app.Urls.First().TrimEnd('/'));
        return receiver;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var now = Interlocked.Increment(ref inFlight);
        try
        {
            int seen;
            while (now > (seen = Volatile.Read(ref maxInFlight)) && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
            {
            }
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body, http.RequestAborted);
            var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            var status = Abort ? 0 : StatusCode;
            Requests.Enqueue(new Received(http.Request.Path, headers, body.ToArray(), status));
            if (Hold is { } hold)
            {
                await hold.Task.WaitAsync(http.RequestAborted);
            }
            if (Abort)
            {
                http.Abort();
                return;
            }
            http.Response.StatusCode = status;
            foreach (var (name, value) in ResponseHeaders)
            {
                http.Response.Headers[name] = value;
            }
            await http.Response.WriteAsync(ResponseBody, http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The sender gave up (its timeout) or was stopped.
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    /// <summary>Waits (polling, bounded) until a request matching <paramref name="match"/> has arrived.</summary>
    public async Task<Received> WaitForAsync(Func<Received, bool> match, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            if (Requests.FirstOrDefault(match) is { } hit)
            {
                return hit;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"No matching webhook within the deadline; received {Requests.Count}: {string.Join(", ", Requests.Select(r => r.Text.Length > 60 ? r.Text[..60] : r.Text))}");
    }

    public async ValueTask DisposeAsync()
    {
        Hold?.TrySetResult();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
