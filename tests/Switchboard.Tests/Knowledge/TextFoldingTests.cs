using Switchboard.Knowledge;

namespace Switchboard.Tests.Knowledge;

/// <summary>The tokenizer both databases index with, the FTS query builder, and the chunker (pure logic).</summary>
public sealed class TextFoldingTests
{
    [Theory]
    [InlineData("inondé", "inondation")]
    [InlineData("Inondations", "INONDÉ")]
    [InlineData("flooded", "flooding")]
    [InlineData("services", "service")]
    [InlineData("eaux", "eau")]
    [InlineData("main-d'œuvre", "main d oeuvre")]
    public void FrenchAndEnglishInflectionsAndAccentsFoldToTheSameTerms(string a, string b) =>
        Assert.Equal(TextFolding.Terms(a), TextFolding.Terms(b));

    [Theory]
    [InlineData("sous-sol", new[] { "sous", "sol" })]
    [InlineData("l'eau", new[] { "eau" })]
    [InlineData("\"sous-sol", new[] { "sous", "sol" })]
    [InlineData("NEAR(eau, 2) AND sol*", new[] { "near", "eau", "sol" })]
    [InlineData("le la les de the of", new string[0])]
    [InlineData("SearchText:eau ^sol {col}", new[] { "searchtext", "eau", "sol", "col" })]
    public void QueryTermsAreOnlyLettersAndDigits(string query, string[] expected)
    {
        var terms = TextFolding.QueryTerms(query);
        Assert.Equal(expected.Select(TextFolding.Stem), terms);
        Assert.All(terms, t => Assert.True(t.All(char.IsAsciiLetterOrDigit), t));
    }

    [Theory]
    [InlineData("בִּיקּוּר טֶכְנַאי", "ביקור טכנאי")]            // niqqud folded away
    [InlineData("והטכנאי", "טכנאי")]                        // ו + ה prefixes
    [InlineData("כשהטכנאי", "טכנאי")]
    [InlineData("בשבת", "שבת")]
    [InlineData("בע״מ", "בע\"מ")]                           // gershayim or a typed quote: one word
    [InlineData("زِيَارَةُ الْفَنِّيِّ", "زيارة فني")]           // harakat folded away, the article removed
    [InlineData("والناصرة", "الناصره")]                     // و + ال, ta marbuta
    [InlineData("مستشفى", "مستشفي")]                        // alef maksura
    [InlineData("٢٥٠", "250")]                              // Arabic-Indic digits
    [InlineData("ΣΆΒΒΑΤΟ", "σαββατο")]
    [InlineData("Суббота", "суббота")]
    public void NonLatinWordsFoldToTheSameTerms(string a, string b)
    {
        Assert.NotEmpty(TextFolding.Terms(a));
        Assert.Equal(TextFolding.Terms(b), TextFolding.Terms(a));
    }

    [Theory]
    [InlineData("כמה עולה ביקור טכנאי?", new[] { "עולה", "יקור", "טכנאי" })]
    [InlineData("מים", new[] { "מים" })]                    // no prefix stripped below 3 letters
    [InlineData("هل تعملون في الناصرة؟", new[] { "تعملون", "ناصره" })]
    [InlineData("Работаете ли вы в субботу?", new[] { "работаете", "ли", "вы", "субботу" })]
    public void NonLatinQueriesKeepTheirWords(string query, string[] expected) =>
        Assert.Equal(expected, TextFolding.QueryTerms(query));

    [Fact]
    public void Fts5QueryQuotesEveryTermAndRequiresTheTenant()
    {
        var tenant = Guid.Parse("0193a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b");
        var query = KnowledgeSearch.Fts5Query(tenant, TextFolding.QueryTerms("sous-sol inondé l'eau"));
        Assert.Equal($"\"{TextFolding.TenantTerm(tenant)}\" AND (\"sou\" OR \"sol\" OR \"inond\" OR \"eau\")", query); // "sous" stems like "sou"
        Assert.Matches("^kbt[a-p]{32}$", TextFolding.TenantTerm(tenant));
        Assert.NotEqual(TextFolding.TenantTerm(tenant), TextFolding.TenantTerm(Guid.NewGuid()));
    }

    [Fact]
    public void ChunksFollowHeadingsStayWithinBoundsAndOverlapLongParagraphs()
    {
        var sentence = "Le plombier de garde rappelle en moins de quinze minutes pour une urgence. ";
        var longParagraph = string.Concat(Enumerable.Repeat(sentence, 60)); // ≈ 4,500 characters, one paragraph
        var sections = new List<DocumentSection>
        {
            new("Urgences", longParagraph.Trim()),
            new("Tarifs", "Déplacement 95 $."),
            new("Territoire", "Laval.\n\nLongueuil et Brossard."),
        };
        var chunks = Chunker.Split(sections);

        var urgent = chunks.Where(c => c.Heading == "Urgences").ToList();
        Assert.True(urgent.Count >= 4);
        Assert.All(urgent, c => Assert.InRange(c.Text.Length, Chunker.Min, Chunker.Max));
        // The next chunk starts with the end of the previous one (overlap), cut at a sentence.
        Assert.StartsWith(urgent[1].Text[..40], urgent[0].Text[^Chunker.Overlap..].TrimStart() + " " + urgent[1].Text);
        Assert.Single(chunks, c => c.Heading == "Tarifs" && c.Text == "Déplacement 95 $."); // sections never share a chunk
        Assert.Equal("Laval.\n\nLongueuil et Brossard.", Assert.Single(chunks, c => c.Heading == "Territoire").Text);
    }

    [Fact]
    public void StoredTextKeepsHeadingsForReindexing()
    {
        var extracted = DocumentExtractor.FromMarkdown("# Services\n\n## Débouchage\nDrains et égouts.\n\n## Chauffe-eau\n**40** et 60 gallons.");
        var again = ExtractedDocument.FromStored(extracted.StoredText);
        Assert.Equal(extracted.Sections, again.Sections);
        Assert.Equal("Services › Chauffe-eau", again.Sections[1].Heading);
        Assert.Equal("40 et 60 gallons.", again.Sections[1].Text);
    }
}
