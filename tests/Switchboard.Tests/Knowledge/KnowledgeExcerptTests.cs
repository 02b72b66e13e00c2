using System.Text.RegularExpressions;
using Switchboard.Brain;
using Switchboard.Knowledge;

namespace Switchboard.Tests.Knowledge;

/// <summary>The part of a knowledge passage the offline receptionist quotes for a question (pure logic).</summary>
public sealed class KnowledgeExcerptTests
{
    private const string DentalFaq =
        "Do you accept dental insurance? Yes. We bill Sun Life, Manulife, Canada Life and Green Shield directly, so you only pay your co-pay at the visit.\n" +
        "Do you see children? Yes, we see children from age 3. The first check-up for kids under 5 is free.\n" +
        "Parking: free parking behind the building at 120 Queen Street West. Accessible entrance on the side.\n" +
        "New patient cleaning and exam costs $189 without insurance.";

    private const string FrenchFaq =
        "Nous desservons Laval, Longueuil, Brossard, Terrebonne, Repentigny et tout l'est de Montréal, jour et nuit.\n" +
        "Le déplacement d'urgence coûte 175 $ la fin de semaine et 125 $ en semaine. Les soirs de semaine, un supplément de 40 $ s'applique.\n" +
        "Garantie : deux ans sur la main-d'œuvre. Les pièces sont garanties par le fabricant.\n" +
        "Nous acceptons le paiement par carte, virement Interac ou chèque.";

    private const string HebrewFaq =
        "ביקור טכנאי עולה 250 ש״ח, כולל מע״מ. עבודה בשבת ובחגים בתוספת של חמישים אחוז.\n" +
        "אנחנו עובדים בתל אביב, רמת גן, גבעתיים, בני ברק, חולון, בת ים וראשון לציון. אין לנו שירות באילת.\n" +
        "חניה: יש חניה חינם מאחורי הבניין ברחוב הרצל 12. הכניסה הנגישה נמצאת בצד הבניין.\n" +
        "כל עבודת חשמל מגיעה עם אחריות מלאה לשנה, כולל חלקים.";

    [Fact]
    public void EnglishQuestionQuotesTheSentencesThatAnswerIt()
    {
        var parking = KnowledgeExcerpt.For(DentalFaq, "Hello, do you have parking?", OfflineReceptionist.QuoteLength);
        Assert.StartsWith("Parking: free parking behind the building at 120 Queen Street West. Accessible entrance on the side.", parking);
        Assert.DoesNotContain("Sun Life", parking);
        Assert.DoesNotContain("\n", parking);
        AssertCleanExcerpt(DentalFaq, parking);

        var kids = KnowledgeExcerpt.For(DentalFaq, "do you see kids? My son is 4.", OfflineReceptionist.QuoteLength);
        Assert.StartsWith("Do you see children? Yes, we see children from age 3. The first check-up for kids under 5 is free.", kids);
        AssertCleanExcerpt(DentalFaq, kids);
    }

    [Fact]
    public void FrenchQuestionQuotesTheSentencesThatAnswerItAccentsFolded()
    {
        var warranty = KnowledgeExcerpt.For(FrenchFaq, "Quelle est votre garantie sur la main d'oeuvre?", OfflineReceptionist.QuoteLength);
        Assert.StartsWith("Garantie : deux ans sur la main-d'œuvre. Les pièces sont garanties par le fabricant.", warranty);
        AssertCleanExcerpt(FrenchFaq, warranty);

        var evening = KnowledgeExcerpt.For(FrenchFaq, "Un supplement le soir?", OfflineReceptionist.QuoteLength);
        Assert.StartsWith("Le déplacement d'urgence coûte 175 $", evening); // the line's earlier sentence is kept as context
        Assert.Contains("un supplément de 40 $ s'applique.", evening);
        AssertCleanExcerpt(FrenchFaq, evening);
    }

    [Fact]
    public void HebrewQuestionQuotesTheSentencesThatAnswerIt()
    {
        var parking = KnowledgeExcerpt.For(HebrewFaq, "יש לכם חניה?", OfflineReceptionist.QuoteLength);
        Assert.StartsWith("חניה: יש חניה חינם מאחורי הבניין ברחוב הרצל 12.", parking);
        AssertCleanExcerpt(HebrewFaq, parking);

        var warranty = KnowledgeExcerpt.For(HebrewFaq, "האם יש אַחְרָיוּת על החלקים?", OfflineReceptionist.QuoteLength); // niqqud folded
        Assert.StartsWith("כל עבודת חשמל מגיעה עם אחריות מלאה לשנה", warranty);
        AssertCleanExcerpt(HebrewFaq, warranty);
    }

    [Fact]
    public void ALongSentenceIsCutAtWordsAroundTheAnswer()
    {
        var filler = string.Join(", ", Enumerable.Range(1, 40).Select(i => $"quartier numéro {i}"));
        var passage = $"Nous desservons {filler}, et la ville de Boucherville sur demande, sans frais de déplacement supplémentaires pour les clients réguliers.";
        var excerpt = KnowledgeExcerpt.For(passage, "Allez-vous à Boucherville?", 120);
        Assert.InRange(excerpt.Length, 60, 120);
        Assert.StartsWith("…", excerpt);
        Assert.Contains("Boucherville", excerpt);
        AssertCleanExcerpt(passage, excerpt);

        var start = KnowledgeExcerpt.For(passage, "rien à voir", 120); // no term matches: the start, cut at a word
        Assert.StartsWith("Nous desservons quartier numéro 1,", start);
        AssertCleanExcerpt(passage, start);
    }

    [Fact]
    public void AShortPassageIsQuotedWholeWithItsLineBreaksAsSpaces() =>
        Assert.Equal("Horaire: lundi au vendredi. Samedi: fermé.", KnowledgeExcerpt.For("Horaire: lundi au vendredi.\n\nSamedi:  fermé.\n", "samedi", 300));

    /// <summary>At most 300 characters, one line, and every word of the excerpt is a whole word of the passage.</summary>
    private static void AssertCleanExcerpt(string passage, string excerpt)
    {
        Assert.InRange(excerpt.Length, 1, OfflineReceptionist.QuoteLength);
        Assert.DoesNotContain("\n", excerpt);
        var words = Regex.Split(passage, @"\s+").ToHashSet();
        foreach (var word in excerpt.Trim('…').Split(' '))
        {
            Assert.True(words.Contains(word) || words.Any(w => w.StartsWith(word, StringComparison.Ordinal) && !char.IsLetterOrDigit(w[word.Length])),
                $"'{word}' is not a whole word of the passage: {excerpt}");
        }
    }
}
