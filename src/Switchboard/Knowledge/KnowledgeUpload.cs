using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.OpenApi;
using Switchboard.Platform.Http;

namespace Switchboard.Knowledge;

/// <summary>
/// The <c>multipart/form-data</c> form of <c>POST /api/v1/knowledge</c> (the dashboard's file upload): one <c>file</c>
/// part (a PDF, Markdown, HTML or plain-text file, at most <see cref="KnowledgeOptions.MaxDocumentBytes"/> bytes), an
/// optional <c>title</c> and an optional <c>type</c> (<c>text</c>, <c>markdown</c>, <c>html</c>, <c>pdf</c>; else read
/// from the file's extension, then its content type). The handler reads the form itself; <see cref="KnowledgeUpload.DescribeForm"/>
/// documents it.
/// </summary>

/// <summary>Reads a knowledge upload into a <see cref="KnowledgeDocumentRequest"/>; refusals are envelopes and store nothing.</summary>
internal static class KnowledgeUpload
{
    /// <summary>Room for the multipart framing and the small fields around the file, in bytes.</summary>
    private const int FormOverheadBytes = 64 * 1024;

    /// <summary>Most parts (fields and files) a form may have (400 <c>INVALID_FORM</c> beyond).</summary>
    private const int MaxFormParts = 16;

    /// <summary>
    /// The request body limit of <c>POST /api/v1/knowledge</c>, in bytes (<see cref="RequestBodyLimit"/>): three times the
    /// largest document, plus the form's framing. A JSON body carries the document escaped: <c>contentBase64</c> is 4 bytes per
    /// 3, and a serializer that escapes non-ASCII (System.Text.Json does by default, RFC 8259 §7) writes <c>é</c>, 2 bytes in
    /// UTF-8, as the 6 of <c>\u00E9</c>, and an emoji's 4 as 12. The form and the document itself keep their own, smaller limits
    /// (<see cref="ReadAsync"/>, <see cref="KnowledgeIngestion"/>); all answer 413 <c>DOCUMENT_TOO_LARGE</c>.
    /// </summary>
    public static long MaxRequestBytes(KnowledgeOptions options) => 3L * options.MaxDocumentBytes + FormOverheadBytes;

    /// <summary>The 413's message (the dashboard reads the number from it).</summary>
    public static string TooLargeMessage(KnowledgeOptions options) => $"A document may be at most {options.MaxDocumentBytes} bytes.";

    /// <summary>
    /// The request for the form in <paramref name="request"/>. Errors: 413 <c>DOCUMENT_TOO_LARGE</c> (file or form past
    /// the limit), 415 <c>UNSUPPORTED_MEDIA_TYPE</c> (a file that is not PDF, Markdown, HTML or text), 422
    /// <c>VALIDATION_FAILED</c> (no file, or an empty one), 422 <c>NOT_UTF8_TEXT</c> (a text, Markdown or HTML file that is
    /// not text: binary, or control bytes; <see cref="DocumentText.Decode"/>), 400 <c>INVALID_FORM</c> (a malformed multipart body,
    /// or one of more than 16 parts).
    /// </summary>
    public static async Task<(KnowledgeDocumentRequest? Request, JsonHttpResult<ErrorEnvelope>? Error)> ReadAsync(
        HttpRequest request, KnowledgeOptions options, CancellationToken ct)
    {
        var tooLarge = ApiError.Create(413, "DOCUMENT_TOO_LARGE", TooLargeMessage(options));
        if (request.ContentLength > options.MaxDocumentBytes + FormOverheadBytes)
        {
            return (null, tooLarge);
        }
        IFormCollection form;
        try
        {
            // The limit applies while the body is read: an upload without Content-Length stops at the limit too.
            request.HttpContext.Features.Set<IFormFeature>(new FormFeature(request, new FormOptions
            {
                MultipartBodyLengthLimit = options.MaxDocumentBytes + FormOverheadBytes,
                ValueLengthLimit = 4096,
                ValueCountLimit = MaxFormParts,
            }));
            form = await request.ReadFormAsync(ct);
        }
        catch (InvalidDataException e) when (e.Message.Contains("count limit", StringComparison.OrdinalIgnoreCase))
        {
            // Too many parts is not a large document: it answered 413 DOCUMENT_TOO_LARGE with the document's byte limit.
            return (null, ApiError.BadRequest("INVALID_FORM", $"The form has more than {MaxFormParts} parts: send a file, and optionally title and type."));
        }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            return (null, tooLarge);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && !ct.IsCancellationRequested)
        {
            return (null, ApiError.BadRequest("INVALID_FORM", "The multipart body is malformed."));
        }
        var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
        if (file is null || file.Length == 0)
        {
            return (null, new Validation().Add("file", "attach a non-empty file (PDF, Markdown, HTML or text)").Result());
        }
        if (file.Length > options.MaxDocumentBytes)
        {
            return (null, tooLarge);
        }
        var fileName = Path.GetFileName(file.FileName ?? "").Trim();
        var type = form["type"].ToString().Trim().ToLowerInvariant() is { Length: > 0 } given ? given : TypeOf(fileName, file.ContentType);
        if (type is null || type == DocumentExtractor.Url || !DocumentExtractor.Types.Contains(type))
        {
            return (null, ApiError.Create(415, "UNSUPPORTED_MEDIA_TYPE",
                "Upload a PDF (.pdf), Markdown (.md), HTML (.html) or plain-text (.txt) file.", new { fileName, contentType = file.ContentType }));
        }
        var bytes = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(bytes, ct);
        }
        var title = form["title"].ToString() is { Length: > 0 } t ? t : null;
        var name = fileName.Length == 0 ? null : fileName;
        // The JSON body is checked before the endpoint runs (StorableTextGuardMiddleware); a form's fields are checked here.
        var unstorable = new Validation();
        if (title?.Contains('\0') == true)
        {
            unstorable.Add("title", StorableText.Problem);
        }
        if (name?.Contains('\0') == true)
        {
            unstorable.Add("file", StorableText.Problem);
        }
        if (!unstorable.IsValid)
        {
            return (null, unstorable.Result(StorableText.Message));
        }
        if (type == DocumentExtractor.Pdf)
        {
            return (new KnowledgeDocumentRequest(type, title, null, Convert.ToBase64String(bytes), null, name), null);
        }
        var charset = System.Net.Http.Headers.MediaTypeHeaderValue.TryParse(file.ContentType, out var media) ? media.CharSet : null;
        if (DocumentText.Decode(bytes, charset) is not { } text)
        {
            return (null, ApiError.Unprocessable("NOT_UTF8_TEXT",
                "The file is not text (it holds NUL or other control bytes): save it as UTF-8 text, or upload a PDF.",
                new { fileName = name, type }));
        }
        return (new KnowledgeDocumentRequest(type, title, text, null, null, name), null);
    }

    /// <summary>Sets the OpenAPI schema of the <c>multipart/form-data</c> body: <c>file</c> (binary, required), <c>title</c>, <c>type</c>.</summary>
    public static Task DescribeForm(OpenApiOperation operation)
    {
        if (operation.RequestBody?.Content is { } content && content.TryGetValue("multipart/form-data", out var form) && form is OpenApiMediaType media)
        {
            media.Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Required = new HashSet<string> { "file" },
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    ["file"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "A .pdf, .md, .html or .txt file" },
                    ["title"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Title (else the document's own)" },
                    ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "text, markdown, html or pdf (else from the file)" },
                },
            };
        }
        return Task.CompletedTask;
    }

    /// <summary>The document type of a file: its extension first, then its content type; null when neither tells.</summary>
    internal static string? TypeOf(string fileName, string? contentType) =>
        Path.GetExtension(fileName).ToLowerInvariant() switch
        {
            ".pdf" => DocumentExtractor.Pdf,
            ".md" or ".markdown" => "markdown",
            ".html" or ".htm" => "html",
            ".txt" or ".text" => "text",
            _ => (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant() switch
            {
                "application/pdf" => DocumentExtractor.Pdf,
                "text/markdown" or "text/x-markdown" => "markdown",
                "text/html" => "html",
                "text/plain" => "text",
                _ => null,
            },
        };
}
