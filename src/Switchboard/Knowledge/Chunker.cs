using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Knowledge;

/// <summary>One chunk before storage: its heading path and text.</summary>
internal sealed record ChunkDraft(string? Heading, string Text);

/// <summary>
/// Splits sections into retrieval chunks (brain-and-knowledge-base.md §4.2): by heading (sections never share a
/// chunk), then paragraphs, then sentences, then words; chunks aim at <see cref="Target"/>–<see cref="Max"/>
/// characters (≈ 200–300 tokens, inside small embedding models' window), the next chunk of a section repeats the
/// last sentences of the previous one (about <see cref="Overlap"/> characters, 10–15 %), and a trailing piece
/// under <see cref="Min"/> characters is merged into its neighbour.
/// </summary>
internal static partial class Chunker
{
    public const int Target = 800;
    public const int Max = 1200;
    public const int Min = 200;
    public const int Overlap = 150;

    public static List<ChunkDraft> Split(IReadOnlyList<DocumentSection> sections)
    {
        var chunks = new List<ChunkDraft>();
        foreach (var section in sections)
        {
            var pieces = Pieces(section.Text);
            var current = new StringBuilder();
            var sectionChunks = new List<string>();
            foreach (var piece in pieces)
            {
                if (current.Length > 0 && current.Length + 1 + piece.Text.Length > Max)
                {
                    var done = current.ToString();
                    sectionChunks.Add(done);
                    current.Clear().Append(Tail(done));
                }
                if (current.Length > 0)
                {
                    current.Append(piece.IsParagraphStart ? "\n\n" : " ");
                }
                current.Append(piece.Text);
                if (current.Length >= Target && piece.EndsParagraph)
                {
                    var done = current.ToString();
                    sectionChunks.Add(done);
                    current.Clear(); // a paragraph boundary is a clean cut: no overlap needed
                }
            }
            if (current.Length > 0)
            {
                var rest = current.ToString();
                // A short remainder joins the previous chunk when they fit together; else it stands alone.
                if (rest.Length < Min && sectionChunks.Count > 0 && sectionChunks[^1].Length + rest.Length <= Max + Min)
                {
                    sectionChunks[^1] = sectionChunks[^1] + " " + rest;
                }
                else
                {
                    sectionChunks.Add(rest);
                }
            }
            chunks.AddRange(sectionChunks.Select(text => new ChunkDraft(section.Heading, text.Trim())));
        }
        return chunks.Where(c => c.Text.Length > 0).ToList();
    }

    private readonly record struct Piece(string Text, bool IsParagraphStart, bool EndsParagraph);

    /// <summary>Paragraphs, or their sentences when a paragraph is longer than <see cref="Max"/>, or words when a sentence is.</summary>
    private static List<Piece> Pieces(string text)
    {
        var pieces = new List<Piece>();
        foreach (var paragraph in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (paragraph.Length <= Max)
            {
                pieces.Add(new Piece(paragraph, true, true));
                continue;
            }
            var sentences = SentenceEnd().Split(paragraph).Where(s => s.Length > 0).SelectMany(HardSplit).ToList();
            for (var i = 0; i < sentences.Count; i++)
            {
                pieces.Add(new Piece(sentences[i], i == 0, i == sentences.Count - 1));
            }
        }
        return pieces;
    }

    private static IEnumerable<string> HardSplit(string sentence)
    {
        if (sentence.Length <= Max)
        {
            yield return sentence;
            yield break;
        }
        var sb = new StringBuilder();
        foreach (var word in sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var w = Platform.Http.TolerantJson.Cap(word, Max)!; // never half a surrogate pair: PostgreSQL's driver cannot encode it
            if (sb.Length > 0 && sb.Length + 1 + w.Length > Target)
            {
                yield return sb.ToString();
                sb.Clear();
            }
            sb.Append(sb.Length > 0 ? " " : "").Append(w);
        }
        if (sb.Length > 0)
        {
            yield return sb.ToString();
        }
    }

    /// <summary>The last whole sentences of <paramref name="chunk"/> within <see cref="Overlap"/> characters (or its last words).</summary>
    private static string Tail(string chunk)
    {
        if (chunk.Length <= Overlap)
        {
            return "";
        }
        var window = chunk[^Overlap..];
        var cut = SentenceEnd().Match(window);
        if (cut.Success && cut.Index + cut.Length < window.Length)
        {
            return window[(cut.Index + cut.Length)..].Trim();
        }
        var space = window.IndexOf(' ');
        return space >= 0 ? window[(space + 1)..].Trim() : "";
    }

    [GeneratedRegex(@"(?<=[.!?…])\s+")]
    private static partial Regex SentenceEnd();
}
