using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Switchboard.Tests.Dashboard;

/// <summary>One Server-Sent Event as a client parses it (WHATWG HTML §9.2.6): id, event name, data lines joined.</summary>
internal sealed record SseEvent(string? Id, string Type, string Data)
{
    public JsonNode Json => JsonNode.Parse(Data)!;
}

/// <summary>Reads <c>GET /api/v1/events</c> from the response stream, as <c>EventSource</c> would, each read bounded by a deadline.</summary>
internal sealed class SseStream : IAsyncDisposable
{
    private readonly HttpResponseMessage response;
    private readonly StreamReader reader;
    private Task<string?>? pendingLine;

    private SseStream(HttpResponseMessage response, StreamReader reader)
    {
        this.response = response;
        this.reader = reader;
    }

    public HttpResponseMessage Response => response;

    public static async Task<SseStream> OpenAsync(HttpClient client, string path = "/api/v1/events", string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.Fail($"events: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new SseStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The next event, or null when the server ended the stream. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<SseEvent?> NextAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string? id = null;
        string? type = null;
        var data = new List<string>();
        while (true)
        {
            pendingLine ??= reader.ReadLineAsync();
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(pendingLine, Task.Delay(left)) != pendingLine)
            {
                throw new TimeoutException($"No complete event within {timeout.TotalSeconds} s");
            }
            var line = await pendingLine;
            pendingLine = null;
            if (line is null)
            {
                return null;
            }
            if (line.Length == 0)
            {
                if (type is null && data.Count == 0 && id is null)
                {
                    continue;
                }
                return new SseEvent(id, type ?? "message", string.Join("\n", data));
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": type = value; break;
                case "data": data.Add(value); break;
            }
        }
    }

    /// <summary>Reads until an event matches (pings and others are skipped); fails at the deadline.</summary>
    public async Task<SseEvent> WaitForAsync(Func<SseEvent, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var e = await NextAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1)) ?? throw new InvalidOperationException("The stream ended.");
            if (match(e))
            {
                return e;
            }
        }
    }

    /// <summary>The next event that is not a ping.</summary>
    public Task<SseEvent> NextNonPingAsync(TimeSpan? timeout = null) => WaitForAsync(e => e.Type != "ping", timeout);

    public ValueTask DisposeAsync()
    {
        reader.Dispose();
        response.Dispose();
        return ValueTask.CompletedTask;
    }
}
