using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Http;
using Switchboard.Tests.Reliability;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// <c>/api/v1</c> request bodies are bounded (<see cref="RequestBodyLimit"/>: 1 MiB unless the endpoint says more): a
/// <c>Content-Length</c> over it is a 413 <c>PAYLOAD_TOO_LARGE</c> before the body is read, and a chunked body stops being read
/// at the limit, also where the <c>Idempotency-Key</c> hash reads it. Kestrel's own default (30,000,000 bytes) let a caller
/// make the server buffer tens of megabytes per request.
/// </summary>
[Trait("Category", "Database")]
public sealed class RequestBodyLimitTests(SelfServiceFactory factory, KestrelFactory kestrel)
    : IClassFixture<SelfServiceFactory>, IClassFixture<KestrelFactory>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A body that starts with <paramref name="prefix"/> and then sends JSON whitespace (valid between tokens) without end,
    /// or, with <paramref name="declaredLength"/>, declares that length and sends nothing more: a server that reads it
    /// to the end never answers.
    /// </summary>
    private sealed class EndlessBody(string prefix, string mediaType, long? declaredLength) : HttpContent
    {
        private readonly CancellationTokenSource stop = new();

        /// <summary>Bytes handed to the transport so far.</summary>
        public long Sent;

        public EndlessBody Typed()
        {
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
            return this;
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, cancellationToken);
            var first = Encoding.UTF8.GetBytes(prefix);
            await stream.WriteAsync(first, both.Token);
            await stream.FlushAsync(both.Token);
            Interlocked.Add(ref Sent, first.Length);
            if (declaredLength is not null)
            {
                await Task.Delay(Timeout.Infinite, both.Token); // the rest never comes
            }
            var spaces = Encoding.ASCII.GetBytes(new string(' ', 16 * 1024));
            while (true)
            {
                await stream.WriteAsync(spaces, both.Token);
                Interlocked.Add(ref Sent, spaces.Length);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = declaredLength ?? 0;
            return declaredLength is not null;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                stop.Cancel();
                stop.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    private static async Task AssertTooLargeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("PAYLOAD_TOO_LARGE", await response.ErrorCodeAsync());
    }

    private async Task AssertNothingStoredAsync(SignedIn owner, string idempotencyKey)
    {
        var keys = JsonNode.Parse(await owner.Client.GetStringAsync("/api/v1/keys"))!.AsArray();
        Assert.DoesNotContain(keys, k => (string?)k!["name"] == "Huge");
        Assert.False(await factory.WithDbAsync(owner.TenantId, db => db.IdempotencyKeys.IgnoreQueryFilters().AnyAsync(k => k.Key == idempotencyKey)));
    }

    private static HttpRequestMessage Post(string path, HttpContent content, string idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        return request;
    }

    [Fact]
    public async Task ABodyDeclaredOverTheLimitIsRefusedBeforeItIsRead()
    {
        var owner = await factory.SignUpAsync();
        var key = Guid.NewGuid().ToString();
        using var body = new EndlessBody("""{"name":"Huge""", "application/json", 2 * RequestBodyLimit.Default).Typed();
        using var deadline = new CancellationTokenSource(Deadline);

        // Only the first bytes of the declared 2 MiB ever come: the answer cannot wait for the rest.
        using var response = await owner.Client.SendAsync(Post("/api/v1/keys", body, key), deadline.Token);

        await AssertTooLargeAsync(response);
        await AssertNothingStoredAsync(owner, key);
    }

    [Theory]
    [InlineData("application/json")] // read by the text guard, then hashed for the key
    [InlineData("text/plain")]       // not JSON: read by the Idempotency-Key hash alone
    public async Task AChunkedBodyStopsBeingReadAtTheLimitAndClaimsNoKey(string mediaType)
    {
        var owner = await factory.SignUpAsync();
        var key = Guid.NewGuid().ToString();
        using var body = new EndlessBody("""{"name":"Huge" """, mediaType, declaredLength: null).Typed();
        using var deadline = new CancellationTokenSource(Deadline);

        using var response = await owner.Client.SendAsync(Post("/api/v1/keys", body, key), deadline.Token);

        await AssertTooLargeAsync(response);
        // What the test server's pipe holds beyond what was read is bounded; a reader that went on would never have answered.
        Assert.True(Interlocked.Read(ref body.Sent) <= RequestBodyLimit.Default + 512 * 1024, $"{body.Sent} bytes sent");
        await AssertNothingStoredAsync(owner, key);
    }

    [Fact]
    public async Task ABodyUnderTheLimitIsReadAsBeforeAndAnEndpointWithItsOwnLimitTakesMore()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var created = await owner.Client.SendAsync(Post("/api/v1/keys",
            new StringContent("""{"name":"Padded"}""" + new string(' ', (int)RequestBodyLimit.Default - 64), Encoding.UTF8, "application/json"),
            Guid.NewGuid().ToString()));
        await created.JsonAsync(HttpStatusCode.Created);

        // The knowledge base takes a PDF as base64 in JSON: more than the default, up to its own limit.
        var padded = """{"type":"text","title":"Tarifs","content":"Débouchage: 150 $."}""" + new string(' ', (int)RequestBodyLimit.Default + 4096);
        var document = await owner.Client.PostAsync("/api/v1/knowledge", new StringContent(padded, Encoding.UTF8, "application/json"));
        Assert.Equal("Tarifs", (await document.JsonAsync(HttpStatusCode.Created))["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task KestrelAnswersADeclaredOversizedBodyInTheEnvelopeWithoutWaitingForIt()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(kestrel.ServerUri.Host, kestrel.ServerUri.Port);
        var stream = client.GetStream();
        var head = $"POST /api/v1/auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {2 * RequestBodyLimit.Default}\r\n\r\n{{\"email\":";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

        using var deadline = new CancellationTokenSource(Deadline);
        var (status, envelope) = await ReadResponseAsync(stream, deadline.Token);

        Assert.Equal(413, status);
        Assert.Equal("PAYLOAD_TOO_LARGE", envelope.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>Reads one HTTP/1.1 response whose body is chunked (the envelope is written as it is serialized) or has a Content-Length.</summary>
    private static async Task<(int Status, JsonElement Body)> ReadResponseAsync(NetworkStream stream, CancellationToken ct)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.UTF8.GetString(received.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0 && Body(text[..end].Split("\r\n"), text[(end + 4)..]) is { } body)
            {
                return (int.Parse(text.Split(' ')[1]), JsonDocument.Parse(body).RootElement.Clone());
            }
            var read = await stream.ReadAsync(buffer, ct);
            Assert.True(read > 0, "the connection closed before a complete response: " + text);
            received.AddRange(buffer.AsSpan(0, read).ToArray());
        }
    }

    private static string? Body(string[] head, string rest)
    {
        if (head.FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } length)
        {
            var n = int.Parse(length["Content-Length:".Length..].Trim());
            return Encoding.UTF8.GetByteCount(rest) >= n ? rest : null;
        }
        var body = new StringBuilder();
        while (rest.IndexOf("\r\n", StringComparison.Ordinal) is var eol and >= 0)
        {
            var size = Convert.ToInt32(rest[..eol], 16);
            if (size == 0)
            {
                return body.ToString();
            }
            if (rest.Length < eol + 2 + size + 2)
            {
                return null;
            }
            body.Append(rest, eol + 2, size);
            rest = rest[(eol + 2 + size + 2)..];
        }
        return null;
    }
}
