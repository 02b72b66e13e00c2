using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;

namespace Switchboard.Knowledge;

/// <summary>A titled part of a document: the heading path (<c>Services › Débouchage</c>, or null) and its plain text.</summary>
internal sealed record DocumentSection(string? Heading, string Text);

/// <summary>The plain text of a document, split into sections at its headings, or why it could not be read.</summary>
internal sealed record ExtractedDocument(IReadOnlyList<DocumentSection> Sections, string? SuggestedTitle, string? Error)
{
    public static ExtractedDocument Fail(string error) => new([], null, error);

    /// <summary>
    /// The whole text as stored on the document (for export and re-indexing): sections joined by blank lines, a titled
    /// section starting with a <c># Heading › Path</c> line, which <see cref="FromStored"/> reads back.
    /// </summary>
    public string StoredText => string.Join("\n\n", Sections.Select(s => s.Heading is null ? s.Text : "# " + s.Heading + "\n" + s.Text));

    /// <summary>Reads <see cref="StoredText"/> back into sections.</summary>
    public static ExtractedDocument FromStored(string stored)
    {
        var sections = new List<DocumentSection>();
        string? heading = null;
        var body = new System.Text.StringBuilder();
        void Flush()
        {
            var text = body.ToString().Trim();
            if (text.Length > 0)
            {
                sections.Add(new DocumentSection(heading, text));
            }
            body.Clear();
        }
        foreach (var line in stored.Split('\n'))
        {
            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                Flush();
                heading = line[2..].Trim();
                continue;
            }
            body.Append(line).Append('\n');
        }
        Flush();
        return sections.Count == 0 ? Fail("The document has no text.") : new(sections, null, null);
    }
}

/// <summary>
/// Turns text, Markdown, HTML and PDF into sections of plain text (brain-and-knowledge-base.md §4.1): Markdown is split
/// at ATX headings before Markdig's <c>ToPlainText</c> (which keeps list and heading text, drops link URLs); HTML drops
/// <c>script, style, nav, header, footer, noscript</c>, starts a section at each <c>h1</c>–<c>h6</c> and joins block
/// elements with newlines (AngleSharp's <c>TextContent</c> would glue "DébouchageService 24/7"); PDF text comes page by
/// page from PdfPig's <c>ContentOrderTextExtractor</c> (newlines kept). A PDF with no text layer is an error
/// ("0 characters extracted"), never an empty document.
/// </summary>
internal static class DocumentExtractor
{
    public const string Text = "text";
    public const string Markdown = "markdown";
    public const string Html = "html";
    public const string Pdf = "pdf";
    public const string Url = "url";

    /// <summary>Document types accepted by the API.</summary>
    public static readonly string[] Types = [Text, Markdown, Html, Pdf, Url];

    private static readonly string[] Dropped = ["script", "style", "nav", "header", "footer", "noscript", "template", "svg", "iframe", "form", "button"];

    private static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "li", "ul", "ol", "tr", "table", "section", "article", "main", "aside", "blockquote", "pre", "dd", "dt", "dl",
        "h1", "h2", "h3", "h4", "h5", "h6", "br", "address", "figcaption", "td", "th",
    };

    public static ExtractedDocument FromText(string text)
    {
        var normalized = TextFolding.Normalize(text).Trim();
        return normalized.Length == 0 ? ExtractedDocument.Fail("The document has no text.") : new([new DocumentSection(null, normalized)], null, null);
    }

    public static ExtractedDocument FromMarkdown(string markdown)
    {
        var sections = new List<DocumentSection>();
        var path = new List<(int Level, string Title)>();
        var body = new StringBuilder();
        string? title = null;
        var inFence = false;

        var tooDeep = false;
        void Flush()
        {
            string text;
            try
            {
                text = Markdig.Markdown.ToPlainText(body.ToString()).Trim();
            }
            catch (ArgumentException)
            {
                // Markdig refuses blocks or inlines nested past its depth limit ("> > > …", "[[[…", "***…") with an
                // ArgumentException (ThrowHelper.CheckDepthLimit), which answered a 500.
                tooDeep = true;
                text = "";
            }
            if (text.Length > 0)
            {
                sections.Add(new DocumentSection(path.Count == 0 ? null : string.Join(" › ", path.Select(p => p.Title)), TextFolding.Normalize(text)));
            }
            body.Clear();
        }

        foreach (var line in TextFolding.Normalize(markdown).Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal) || line.TrimStart().StartsWith("~~~", StringComparison.Ordinal))
            {
                inFence = !inFence;
            }
            var level = inFence ? 0 : line.TakeWhile(c => c == '#').Count();
            if (level is >= 1 and <= 6 && line.Length > level && line[level] == ' ')
            {
                Flush();
                var heading = line[level..].Trim().TrimEnd('#').Trim();
                title ??= heading;
                path.RemoveAll(p => p.Level >= level);
                path.Add((level, heading));
                continue;
            }
            body.Append(line).Append('\n');
        }
        Flush();
        return tooDeep ? ExtractedDocument.Fail("The Markdown is nested too deeply to be read (quotes, lists, links or emphasis inside one another).")
            : sections.Count == 0 ? ExtractedDocument.Fail("The document has no text.") : new(sections, title, null);
    }

    /// <summary>
    /// Deepest element nesting an HTML source may reach (<see cref="NestingDepth"/>) before it is refused unread. The HTML
    /// tree builder's cost grows with the depth of the open elements at every tag (WHATWG HTML §13.2.4.3: "has an element in
    /// scope", the adoption agency algorithm), so 200,000 nested <c>div</c>s or 100,000 unclosed <c>b</c>s (1.2 MB, under the
    /// document limit) kept a core busy for minutes, beyond any cancellation (the outside probe of 2026-12-07). Browsers
    /// stop nesting at 512 (Chromium's parser hangs deeper elements on the 512th); no page worth answering from goes near.
    /// </summary>
    internal const int MaxHtmlDepth = 1024;

    /// <summary>
    /// How deep <paramref name="html"/>'s elements nest, as a linear scan of its tags estimates it, stopping at
    /// <paramref name="limit"/> + 1: a start tag opens an element unless it is void (<c>br</c>, <c>img</c>…), one whose end
    /// tag is optional (<c>p</c>, <c>li</c>, <c>td</c>…: the next one closes it), or self-closing inside <c>svg</c>/<c>math</c>
    /// (an <c>a</c>, <c>button</c>, <c>select</c>, <c>form</c> or <c>nobr</c> first closes an open one of its name);
    /// an end tag closes the innermost open element of its name among the <see cref="EndTagReach"/> innermost (otherwise it is
    /// ignored, as the tree builder ignores a stray end tag); comments, doctypes and the text of <c>script</c>, <c>style</c>,
    /// <c>textarea</c> and <c>title</c> are skipped. Cheap (one pass, bounded work per tag) and never below the depth the tree
    /// builder reaches for the unclosed or nested elements that make it slow.
    /// </summary>
    internal static int NestingDepth(string html, int limit)
    {
        var open = new List<string>();
        var max = 0;
        var foreign = 0; // open svg/math elements: a "/>" there closes its element
        var i = 0;
        while ((i = html.IndexOf('<', i)) >= 0 && i + 1 < html.Length)
        {
            if (string.CompareOrdinal(html, i, "<!--", 0, 4) == 0)
            {
                var end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                i = end < 0 ? html.Length : end + 3;
                continue;
            }
            if (html[i + 1] is '!' or '?')
            {
                var end = html.IndexOf('>', i + 2);
                i = end < 0 ? html.Length : end + 1;
                continue;
            }
            var closing = html[i + 1] == '/';
            var start = i + (closing ? 2 : 1);
            var n = start;
            while (n < html.Length && (char.IsAsciiLetterOrDigit(html[n]) || html[n] is '-' or ':' or '_'))
            {
                n++;
            }
            if (n == start || !char.IsAsciiLetter(html[start]))
            {
                i = start; // "<" followed by anything else is text
                continue;
            }
            var name = html[start..n].ToLowerInvariant();
            var close = html.IndexOf('>', n);
            if (close < 0)
            {
                break;
            }
            i = close + 1;
            if (closing)
            {
                for (var k = open.Count - 1; k >= Math.Max(0, open.Count - EndTagReach); k--)
                {
                    if (open[k] == name)
                    {
                        foreign -= open.Skip(k).Count(x => x is "svg" or "math");
                        open.RemoveRange(k, open.Count - k);
                        break;
                    }
                }
                continue;
            }
            if (RawText.Contains(name))
            {
                var end = html.IndexOf("</" + name, i, StringComparison.OrdinalIgnoreCase);
                i = end < 0 ? html.Length : end;
                continue;
            }
            if (Void.Contains(name) || OptionalEnd.Contains(name) || (foreign > 0 && html[close - 1] == '/'))
            {
                continue;
            }
            if (ClosesItsOwnKind.Contains(name))
            {
                var k = open.LastIndexOf(name, open.Count - 1, Math.Min(open.Count, EndTagReach));
                if (k >= 0)
                {
                    foreign -= open.Skip(k).Count(x => x is "svg" or "math");
                    open.RemoveRange(k, open.Count - k);
                }
            }
            open.Add(name);
            foreign += name is "svg" or "math" ? 1 : 0;
            if (open.Count > max && (max = open.Count) > limit)
            {
                break;
            }
        }
        return max;
    }

    /// <summary>How many of the innermost open elements an end tag is matched against (<see cref="NestingDepth"/>): bounds the work per tag.</summary>
    private const int EndTagReach = 64;

    /// <summary>Void elements (WHATWG HTML §13.1.2), and the obsolete ones parsed as void: they never hold children.</summary>
    private static readonly HashSet<string> Void = new(StringComparer.Ordinal)
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "param", "keygen", "basefont", "bgsound", "frame",
    };

    /// <summary>Elements whose end tag may be omitted (WHATWG HTML §13.1.2.4): the next sibling's start tag closes them.</summary>
    private static readonly HashSet<string> OptionalEnd = new(StringComparer.Ordinal)
    {
        "html", "head", "body", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rtc", "rp",
    };

    /// <summary>
    /// Elements a start tag of the same name closes first when one is open (WHATWG HTML §13.2.6.4.7: an <c>a</c> runs the
    /// adoption agency, a <c>button</c>, <c>select</c> or <c>nobr</c> is closed, a nested <c>form</c> is ignored): a page of
    /// unclosed links is flat, not deep.
    /// </summary>
    private static readonly HashSet<string> ClosesItsOwnKind = new(StringComparer.Ordinal) { "a", "button", "select", "form", "nobr" };

    /// <summary>Elements whose content is text up to their own end tag (WHATWG HTML §13.1.2: raw text and escapable raw text elements).</summary>
    private static readonly HashSet<string> RawText = new(StringComparer.Ordinal) { "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes" };

    public static ExtractedDocument FromHtml(string html)
    {
        if (NestingDepth(html, MaxHtmlDepth) > MaxHtmlDepth)
        {
            return ExtractedDocument.Fail($"The HTML nests its elements more than {MaxHtmlDepth} deep (browsers stop at 512): it cannot be read.");
        }
        var document = new HtmlParser().ParseDocument(html);
        foreach (var element in document.QuerySelectorAll(string.Join(",", Dropped)).ToList())
        {
            element.Remove();
        }
        var sections = new List<DocumentSection>();
        var path = new List<(int Level, string Title)>();
        var current = new StringBuilder();
        var pageTitle = document.Title?.Trim();

        void Flush()
        {
            var text = CollapseLines(current.ToString());
            if (text.Length > 0)
            {
                sections.Add(new DocumentSection(path.Count == 0 ? null : string.Join(" › ", path.Select(p => p.Title)), text));
            }
            current.Clear();
        }

        void Walk(INode node)
        {
            foreach (var child in node.ChildNodes)
            {
                if (child is IText text)
                {
                    current.Append(text.Data);
                }
                else if (child is IElement element)
                {
                    var name = element.LocalName;
                    if (name.Length == 2 && name[0] == 'h' && name[1] is >= '1' and <= '6')
                    {
                        Flush();
                        var level = name[1] - '0';
                        path.RemoveAll(p => p.Level >= level);
                        var heading = CollapseLines(element.TextContent).Replace('\n', ' ');
                        if (heading.Length > 0)
                        {
                            path.Add((level, heading));
                        }
                        continue;
                    }
                    var block = Blocks.Contains(name);
                    if (block)
                    {
                        current.Append('\n');
                    }
                    Walk(element);
                    if (block)
                    {
                        current.Append('\n');
                    }
                }
            }
        }

        if (document.Body is { } bodyElement)
        {
            Walk(bodyElement);
        }
        Flush();
        var firstHeading = sections.Select(s => s.Heading).FirstOrDefault(h => h is not null)?.Split(" › ")[0];
        return sections.Count == 0 ? ExtractedDocument.Fail("The page has no text.") : new(sections, string.IsNullOrEmpty(pageTitle) ? firstHeading : pageTitle, null);
    }

    /// <summary>
    /// The text of a PDF, page by page, read with PdfPig through <see cref="BoundedPdfFilters"/>: its streams may decode to
    /// at most <paramref name="maxDecodedBytes"/> bytes all together, past which the PDF is refused ("expands to more than…",
    /// answered 422 <c>UNREADABLE_DOCUMENT</c>) rather than inflated: a deflate bomb (a small file whose content stream
    /// inflates to gigabytes) would otherwise be held in memory whole. Reading stops at the page that takes the text past
    /// <paramref name="maxCharacters"/> (the caller refuses that size), and <paramref name="ct"/> is checked at each page
    /// and stream, so a client that leaves stops the work.
    /// </summary>
    public static ExtractedDocument FromPdf(byte[] bytes, long maxDecodedBytes, int maxCharacters, CancellationToken ct)
    {
        var pages = new List<DocumentSection>();
        var filters = new BoundedPdfFilters(maxDecodedBytes, ct);
        string? title;
        var characters = 0;
        try
        {
            using var pdf = PdfDocument.Open(bytes, new ParsingOptions { FilterProvider = filters });
            // The metadata's own text: PDFDocEncoding or UTF-16 may hold U+0000 (PostgreSQL refuses it) or other controls.
            title = pdf.Information?.Title is { } raw ? CollapseLines(raw).Replace('\n', ' ') : null;
            foreach (var page in pdf.GetPages())
            {
                ct.ThrowIfCancellationRequested();
                var text = CollapseLines(ContentOrderTextExtractor.GetText(page));
                if (text.Length > 0)
                {
                    pages.Add(new DocumentSection(null, text));
                    if ((characters += text.Length + 2) > maxCharacters)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
        {
            // PdfPig throws its own exception types (and occasionally others) on damaged files, and may wrap the bound's.
            return filters.Exceeded ? TooLarge(maxDecodedBytes) : ExtractedDocument.Fail("The file is not a readable PDF.");
        }
        if (filters.Exceeded)
        {
            return TooLarge(maxDecodedBytes); // a stream PdfPig gave up on leniently, and read on without
        }
        if (pages.Count == 0)
        {
            return ExtractedDocument.Fail("0 characters extracted: the PDF has no text layer (a scan?).");
        }
        return new([new DocumentSection(null, string.Join("\n\n", pages.Select(p => p.Text)))], string.IsNullOrWhiteSpace(title) ? null : title.Trim(), null);
    }

    private static ExtractedDocument TooLarge(long maxDecodedBytes) =>
        ExtractedDocument.Fail($"The PDF's streams expand to more than {maxDecodedBytes} bytes when decompressed: it cannot be read.");

    /// <summary>Trims each line, collapses runs of spaces, and keeps at most one blank line between paragraphs.</summary>
    internal static string CollapseLines(string text)
    {
        var sb = new StringBuilder(text.Length);
        var blank = 0;
        foreach (var raw in TextFolding.Normalize(text).Split('\n'))
        {
            var line = string.Join(' ', raw.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
            if (line.Length == 0)
            {
                blank++;
                continue;
            }
            if (sb.Length > 0)
            {
                sb.Append(blank > 0 ? "\n\n" : "\n");
            }
            sb.Append(line);
            blank = 0;
        }
        return sb.ToString();
    }
}
