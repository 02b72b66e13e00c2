using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Net;
using Switchboard.Webhooks;

namespace Switchboard.Knowledge;

/// <summary>A fetched page or file: its bytes and the type to extract it as, or why it was refused.</summary>
internal sealed record FetchedDocument(byte[]? Body, string? Type, string? ETag, string? LastModified, string? Code, string? Error)
{
    /// <summary>The charset the response's <c>Content-Type</c> declared, as written; null when none (<see cref="DocumentText.Decode"/> reads it).</summary>
    public string? Charset { get; init; }
}

/// <summary>
/// Fetches a URL for the knowledge base through the outbound SSRF guard (brain-and-knowledge-base.md §4.1 "URL
/// ingestion rules"). The URL is checked when submitted (<see cref="WebhookUrlPolicy.ValidateAsync"/>: scheme, no
/// credentials, every resolved address public) and again at connect time (the policy's connect callback, against DNS
/// rebinding); redirects are not followed (a 3xx is refused: its target was never checked); the whole request is
/// bounded by <see cref="KnowledgeOptions.UrlTimeoutSeconds"/> and the body by <see cref="KnowledgeOptions.MaxDocumentBytes"/>;
/// only <c>text/html</c>, <c>text/plain</c>, <c>text/markdown</c> and <c>application/pdf</c> are accepted. Every failure is a
/// refusal (<see cref="FetchedDocument.Code"/>), never an exception: a body cut short or that its <c>Content-Encoding</c>
/// (gzip, deflate, br) does not decode is <c>URL_FETCH_FAILED</c>.
/// This class is the one place knowledge ingestion touches the network policy (issue 12 moves it to Platform).
/// </summary>
internal sealed class KnowledgeFetcher : IDisposable
{
    private readonly WebhookUrlPolicy policy;
    private readonly IOptions<KnowledgeOptions> options;
    private readonly HttpClient http;

    public KnowledgeFetcher(WebhookUrlPolicy policy, IOptions<KnowledgeOptions> options)
    {
        this.policy = policy;
        this.options = options;
        http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectCallback = policy.ConnectCallback,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate | DecompressionMethods.Brotli,
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("Switchboard-KnowledgeBase/1.0");
    }

    public async Task<FetchedDocument> FetchAsync(string? url, CancellationToken ct)
    {
        var (uri, refusal) = await policy.ValidateAsync(url, ct);
        if (uri is null)
        {
            return new(null, null, null, null, refusal!.Code, refusal.Message);
        }
        var max = options.Value.MaxDocumentBytes;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.UrlTimeoutSeconds));
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.ParseAdd("text/html, text/plain, text/markdown, application/pdf;q=0.9");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
            {
                return Refused("URL_REDIRECTED", $"The URL answered {status} (a redirect); redirects are not followed: give the final URL.");
            }
            if (!response.IsSuccessStatusCode)
            {
                return Refused("URL_FETCH_FAILED", $"The URL answered {status}.");
            }
            var type = TypeOf(response.Content.Headers.ContentType, uri);
            if (type is null)
            {
                return Refused("UNSUPPORTED_TYPE", $"The URL's content type '{response.Content.Headers.ContentType?.MediaType}' is not text/html, text/plain, text/markdown or application/pdf.");
            }
            if (response.Content.Headers.ContentLength > max)
            {
                return Refused("DOCUMENT_TOO_LARGE", $"The document exceeds {max} bytes.");
            }
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            try
            {
                while ((read = await stream.ReadAsync(chunk, timeout.Token)) > 0)
                {
                    if (buffer.Length + read > max)
                    {
                        return Refused("DOCUMENT_TOO_LARGE", $"The document exceeds {max} bytes.");
                    }
                    buffer.Write(chunk, 0, read);
                }
            }
            catch (Exception e) when (e is InvalidDataException or InvalidOperationException)
            {
                // A body its Content-Encoding does not decode (the handler decompresses gzip, deflate and br as it reads, and
                // drops the header): the gzip and deflate decoders throw InvalidDataException, the Brotli decoder
                // InvalidOperationException ("Decoder ran into invalid data"). Both answered the caller a 500.
                return Refused("URL_FETCH_FAILED", "The URL's answer could not be decoded: its body is not what its Content-Encoding says.");
            }
            return new(buffer.ToArray(), type, response.Headers.ETag?.Tag, response.Content.Headers.LastModified?.ToString("R"), null, null)
            {
                Charset = response.Content.Headers.ContentType?.CharSet,
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Refused("URL_TIMEOUT", $"The URL did not answer within {options.Value.UrlTimeoutSeconds} s.");
        }
        catch (HttpRequestException e) when (e.InnerException is BlockedAddressException blocked)
        {
            return Refused("URL_BLOCKED", blocked.Message);
        }
        catch (HttpRequestException e)
        {
            return Refused("URL_FETCH_FAILED", $"The URL could not be fetched ({e.HttpRequestError}).");
        }
        catch (HttpIOException e)
        {
            // The body stopped short (the connection closed before its Content-Length, a broken chunk): reading the
            // stream throws this IOException, not an HttpRequestException, and it answered the caller a 500.
            return Refused("URL_FETCH_FAILED", $"The URL's answer was cut short ({e.HttpRequestError}).");
        }

    }

    private static FetchedDocument Refused(string code, string message) => new(null, null, null, null, code, message);

    private static string? TypeOf(MediaTypeHeaderValue? contentType, Uri uri) => contentType?.MediaType?.ToLowerInvariant() switch
    {
        "text/html" or "application/xhtml+xml" => DocumentExtractor.Html,
        "text/plain" => uri.AbsolutePath.EndsWith(".md", StringComparison.OrdinalIgnoreCase) ? DocumentExtractor.Markdown : DocumentExtractor.Text,
        "text/markdown" or "text/x-markdown" => DocumentExtractor.Markdown,
        "application/pdf" => DocumentExtractor.Pdf,
        _ => null,
    };

    public void Dispose() => http.Dispose();
}
