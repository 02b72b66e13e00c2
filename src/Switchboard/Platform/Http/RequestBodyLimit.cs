using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace Switchboard.Platform.Http;

/// <summary>
/// The largest request body an <c>/api/v1</c> endpoint reads: <see cref="Default"/> (1 MiB) unless the endpoint declares its
/// own (<see cref="WithRequestBodyLimit{TBuilder}"/>: the knowledge upload, the campaign import). Kestrel's own default
/// (30,000,000 bytes) let any caller make the server buffer tens of megabytes per request: the text guard, the
/// <c>Idempotency-Key</c> hash and the JSON binding each read the whole body.
/// </summary>
internal static class RequestBodyLimit
{
    /// <summary>The limit of an <c>/api/v1</c> body, in bytes (1 MiB): no JSON request of this API comes near it.</summary>
    public const long Default = 1024 * 1024;

    /// <summary>The envelope's code for a body over the limit (413), unless the endpoint names its own.</summary>
    public const string Code = "PAYLOAD_TOO_LARGE";

    /// <summary>The envelope's message for a body over <paramref name="max"/> bytes (the dashboard reads the number from it).</summary>
    public static string Message(long max) => $"The body exceeds {max} bytes.";

    /// <summary>
    /// Sets the endpoint's body limit to <paramref name="bytes"/> (ASP.NET Core's <see cref="IRequestSizeLimitMetadata"/>,
    /// which <see cref="RequestBodyLimitMiddleware"/> reads), for an endpoint that legitimately takes more than
    /// <see cref="Default"/>, or that wants less. <paramref name="code"/> and <paramref name="message"/> replace the 413's
    /// <see cref="Code"/> and <see cref="Message"/> where the endpoint already answers its own (the knowledge base's
    /// <c>DOCUMENT_TOO_LARGE</c>), so a body refused here reads as one refused by the endpoint.
    /// </summary>
    public static TBuilder WithRequestBodyLimit<TBuilder>(this TBuilder builder, long bytes, string? code = null, string? message = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestBodyLimitMetadata(bytes, code ?? Code, message ?? Message(bytes)));
}

/// <summary>An endpoint's body limit, in bytes, and the envelope's code and message when a body passes it.</summary>
internal sealed record RequestBodyLimitMetadata(long? MaxRequestBodySize, string Code, string Message) : IRequestSizeLimitMetadata;

/// <summary>
/// Bounds every <c>/api/v1</c> request body by its endpoint's limit (<see cref="RequestBodyLimit"/>), before anything reads it:
/// <list type="bullet">
/// <item>A <c>Content-Length</c> over the limit is answered 413 <c>PAYLOAD_TOO_LARGE</c> at once, without reading the body.</item>
/// <item>A body without one (<c>Transfer-Encoding: chunked</c>, HTTP/2 DATA frames) is read through a counting stream that
/// throws Kestrel's own 413 (<see cref="BadHttpRequestException"/>) once it passes the limit, wherever it is being read (the text
/// guard, the <c>Idempotency-Key</c> hash, the JSON binding, a form reader); it is answered here, in the envelope, and nothing
/// reads on.</item>
/// </list>
/// The server's <see cref="IHttpMaxRequestBodySizeFeature"/> is set to the same limit where the server offers it (Kestrel), so
/// the connection is not kept draining an oversized body after the answer either. Runs after routing (the limit is the
/// endpoint's) and before authentication, the text guard and the <c>Idempotency-Key</c> hash.
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next)
{
    /// <summary>Other paths keep their own limits (the webhooks and the widget read bounded bodies themselves).</summary>
    public Task InvokeAsync(HttpContext http) => http.Request.Path.StartsWithSegments("/api/v1") ? LimitAsync(http) : next(http);

    private async Task LimitAsync(HttpContext http)
    {
        var metadata = http.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>();
        var limit = metadata is null ? RequestBodyLimit.Default : metadata.MaxRequestBodySize;
        if (limit is not { } max)
        {
            await next(http); // an endpoint that lifted the limit ([DisableRequestSizeLimit]): none here so far
            return;
        }
        var (code, message) = metadata is RequestBodyLimitMetadata own ? (own.Code, own.Message) : (RequestBodyLimit.Code, RequestBodyLimit.Message(max));
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } server)
        {
            server.MaxRequestBodySize = max;
        }
        if (http.Request.ContentLength > max)
        {
            await ApiError.WriteAsync(http, 413, code, message);
            return;
        }
        var original = http.Request.Body;
        http.Request.Body = new LimitedReadStream(original, max);
        try
        {
            await next(http);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge && !http.Response.HasStarted)
        {
            // Thrown by the counting stream below, or by Kestrel at the same limit, wherever the body was being read.
            http.Response.Clear();
            await ApiError.WriteAsync(http, 413, code, message);
        }
        finally
        {
            http.Request.Body = original;
        }
    }

    /// <summary>The request body as read, counted; past <c>max</c> bytes, a read throws 413 instead of returning more.</summary>
    private sealed class LimitedReadStream(Stream inner, long max) : Stream
    {
        private long read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int n)
        {
            read += n;
            if (read > max)
            {
                throw new BadHttpRequestException(RequestBodyLimit.Message(max), StatusCodes.Status413PayloadTooLarge);
            }
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
