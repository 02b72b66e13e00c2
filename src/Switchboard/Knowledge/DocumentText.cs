using System.Text;

namespace Switchboard.Knowledge;

/// <summary>
/// The one rule for turning a text document's bytes into text, shared by the file upload (<see cref="KnowledgeUpload"/>) and
/// the URL fetch (<see cref="KnowledgeFetcher"/>), and its control-character rule, also applied to JSON <c>content</c>
/// (<see cref="KnowledgeIngestion"/>). The charset a <c>Content-Type</c> declares is used first, except that a declared
/// UTF-8 that the bytes are not falls through like an undeclared one (a server's default header often lies about old
/// files); <c>iso-8859-1</c>, <c>latin1</c> and <c>us-ascii</c> mean Windows-1252, as browsers read them (WHATWG Encoding
/// Standard §4.2, "Legacy single-byte encodings": those labels name windows-1252). Without a usable charset the bytes are
/// UTF-8 (RFC 3629; a BOM is dropped) when they are valid UTF-8, else Windows-1252, the encoding of the plain-text files
/// Windows editors saved before UTF-8 (a French FAQ with "é" and curly apostrophes).
/// </summary>
internal static class DocumentText
{
    /// <summary>What is said of text holding a forbidden control character (JSON <c>content</c>, 422 <c>VALIDATION_FAILED</c>).</summary>
    public const string ControlProblem =
        "must be text: no control characters other than tab, line feed, form feed and carriage return (no NUL, no other C0, DEL or C1)";

    /// <summary>Windows-1252 (the runtime's code-page provider, not registered process-wide); its unassigned bytes decode to C1 controls.</summary>
    private static readonly Encoding Windows1252 = CodePagesEncodingProvider.Instance.GetEncoding(1252)!;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The text of a text, Markdown or HTML document's <paramref name="bytes"/>, read as the class summary says with
    /// <paramref name="charset"/> (the <c>Content-Type</c> parameter, quotes allowed; null or unknown when none). Null when
    /// the text holds a forbidden control character (<see cref="ForbiddenControlAt"/>): a binary file labelled
    /// <c>text/plain</c> holds such bytes almost surely, was read as Latin-1 and indexed as noise, and U+0000 cannot be
    /// stored (PostgreSQL); callers answer 422 <c>NOT_UTF8_TEXT</c>.
    /// </summary>
    public static string? Decode(byte[] bytes, string? charset)
    {
        string text;
        if (Declared(charset) is { } declared && declared.CodePage != Encoding.UTF8.CodePage)
        {
            text = declared.GetString(bytes).TrimStart('\uFEFF');
        }
        else
        {
            try
            {
                text = StrictUtf8.GetString(bytes).TrimStart('\uFEFF');
            }
            catch (DecoderFallbackException)
            {
                text = Windows1252.GetString(bytes);
            }
        }
        return ForbiddenControlAt(text) < 0 ? text : null;
    }

    /// <summary>
    /// The index of the first character of <paramref name="text"/> that is a C0 control other than tab, line feed, form feed
    /// and carriage return, DEL or a C1 control (U+0080–U+009F), or -1 when there is none.
    /// </summary>
    public static int ForbiddenControlAt(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] is (< ' ' and not ('\t' or '\n' or '\f' or '\r')) or (>= '\u007f' and <= '\u009f'))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// The encoding a charset label names (Windows-1252 for the labels browsers read so), or null when none, unknown or
    /// one the runtime will not decode (<c>utf-7</c>).
    /// </summary>
    private static Encoding? Declared(string? charset)
    {
        var label = charset?.Trim().Trim('"').Trim();
        if (string.IsNullOrEmpty(label))
        {
            return null;
        }
        try
        {
            var encoding = CodePagesEncodingProvider.Instance.GetEncoding(label) ?? Encoding.GetEncoding(label);
            return encoding.CodePage is 28591 or 20127 ? Windows1252 : encoding; // iso-8859-1, us-ascii
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            // NotSupportedException: a label the runtime knows but refuses to decode (UTF-7, SYSLIB0001), which the WHATWG
            // Encoding Standard does not list either (§4.2): read as undeclared, like an unknown label. It answered a 500.
            return null;
        }
    }
}
