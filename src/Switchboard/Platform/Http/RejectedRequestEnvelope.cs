using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Switchboard.Platform.Http;

/// <summary>
/// Gives Kestrel's own rejections the error envelope. Some requests never reach the application: Kestrel's HTTP/1.1
/// parser refuses them while reading the request line or headers (a <c>%00</c> in the path decodes to NUL, which
/// <c>GetAsciiStringNonNullCharacters</c> refuses as <c>InvalidRequestTarget</c>; malformed headers, a request line too
/// long…) and writes <c>400</c> (or 408/413/414/431) with an empty body and <c>Connection: close</c> itself, so no
/// middleware, exception handler or status-code page runs. The only place left is the connection: this connection
/// middleware wraps the transport's output and, when a response head that can only be Kestrel's rejection goes out
/// (a 4xx, <c>Content-Length: 0</c>, <c>Connection: close</c>, written in one piece — every application 4xx carries the
/// envelope and so a body), rewrites it into the same status with
/// <c>{"error":{"code":"MALFORMED_REQUEST","message":"…","traceId":"&lt;connection id&gt;"}}</c>. Every other byte passes
/// through untouched. HTTP/1.x only (HTTP/2 and HTTP/3 reject such streams with a reset, not a response).
/// </summary>
internal static class RejectedRequestEnvelope
{
    /// <summary>Adds the rewrite to a Kestrel endpoint.</summary>
    public static ListenOptions UseRejectedRequestEnvelope(this ListenOptions listen)
    {
        listen.Use(next => context =>
        {
            context.Transport = new EnvelopePipe(context.Transport, context.ConnectionId);
            return next(context);
        });
        return listen;
    }

    /// <summary>The envelope response replacing <paramref name="head"/>, or null when the head is not a Kestrel rejection.</summary>
    internal static byte[]? Rewrite(ReadOnlySpan<byte> head, string traceId)
    {
        if (head.Length < 16 || head.Length > 2048 || !head.StartsWith("HTTP/1.1 4"u8) || !head.EndsWith("\r\n\r\n"u8)
            || head.IndexOf("\r\nContent-Length: 0\r\n"u8) < 0 || head.IndexOf("\r\nConnection: close\r\n"u8) < 0)
        {
            return null;
        }
        var status = Encoding.ASCII.GetString(head.Slice(9, 3));
        var code = status switch
        {
            "408" => "REQUEST_TIMEOUT",
            "413" => "PAYLOAD_TOO_LARGE",
            "414" => "URI_TOO_LONG",
            "431" => "HEADERS_TOO_LARGE",
            _ => "MALFORMED_REQUEST",
        };
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorEnvelope(new ErrorBody(code,
            "The HTTP server refused this request before routing it: the request line, target or headers are malformed " +
            "(for example a NUL byte, %00, in the path) or too large.", null, traceId)), JsonSerializerOptions.Web);
        var text = Encoding.ASCII.GetString(head);
        text = text.Replace("\r\nContent-Length: 0\r\n",
            $"\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {body.Length}\r\n", StringComparison.Ordinal);
        return [.. Encoding.ASCII.GetBytes(text), .. body];
    }

    private sealed class EnvelopePipe(IDuplexPipe inner, string connectionId) : IDuplexPipe
    {
        public PipeReader Input => inner.Input;

        public PipeWriter Output { get; } = new EnvelopeWriter(inner.Output, connectionId);
    }

    /// <summary>Passes writes through; a write that is exactly a rejection head is replaced before it is committed.</summary>
    private sealed class EnvelopeWriter(PipeWriter inner, string connectionId) : PipeWriter
    {
        private Memory<byte> lastBuffer;

        public override Memory<byte> GetMemory(int sizeHint = 0) => lastBuffer = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override void Advance(int bytes)
        {
            if (bytes > 0 && bytes <= lastBuffer.Length && lastBuffer.Span[0] == (byte)'H'
                && Rewrite(lastBuffer.Span[..bytes], connectionId) is { } replacement)
            {
                // Not committed yet: the same (or a larger) buffer is handed out again and overwritten.
                replacement.CopyTo(inner.GetSpan(replacement.Length));
                inner.Advance(replacement.Length);
                lastBuffer = default;
                return;
            }
            lastBuffer = default;
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;
    }
}
