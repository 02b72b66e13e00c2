using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Switchboard.Calls;
using Switchboard.Tenancy;

namespace Switchboard.Tests.Calls;

/// <summary>A name and an address the caller said, read from their words: <see cref="CallerDetails"/> and the lead built on it.</summary>
public sealed class CallerDetailsTests
{
    [Theory]
    // Québec French
    [InlineData("Bonjour, c'est Marie Tremblay, j'habite au 1234 rue Principale à Laval, mon sous-sol est inondé", "Marie Tremblay")]
    [InlineData("C'est Marie Tremblay.", "Marie Tremblay")]
    [InlineData("Oui allô, c’est Jean-François Côté pis mon chauffe-eau coule", "Jean-François Côté")]
    [InlineData("Bonjour, je m'appelle Marie Tremblay et mon sous-sol est inondé", "Marie Tremblay")]
    [InlineData("je m'appelle marie tremblay j'habite à Laval", "marie tremblay")]
    [InlineData("Mon nom est Luc Gagnon, j'ai un drain bouché", "Luc Gagnon")]
    [InlineData("Mon nom c'est Sylvie Bouchard", "Sylvie Bouchard")]
    [InlineData("Bonjour, ici Paul Gagnon de Boucherville", "Paul Gagnon")]
    [InlineData("Oui bonjour, ici c'est Nathalie Roy", "Nathalie Roy")]
    [InlineData("Allô, moi c'est Guy Lapointe", "Guy Lapointe")]
    [InlineData("Je suis Mélanie D'Amours, la propriétaire", "Mélanie D'Amours")]
    [InlineData("Mon toilette déborde.\nJe m'appelle Ève Roy.", "Ève Roy")]
    // English
    [InlineData("Hi, my name is John Smith, I'm at 55 King Street West", "John Smith")]
    [InlineData("Hi, this is John Smith calling about my water heater", "John Smith")]
    [InlineData("Hello, I'm Sarah O'Brien and my basement is flooded", "Sarah O'Brien")]
    [InlineData("I am Mark J. Wilson, the owner", "Mark J. Wilson")]
    [InlineData("It's Mike Chen, I called yesterday", "Mike Chen")]
    [InlineData("my name is john smith and my toilet is clogged", "john smith")]
    [InlineData("I'm Dave. My sink is leaking.", "Dave")]
    [InlineData("I'm calling because my pipe burst.\nMy name's Priya Patel.", "Priya Patel")]
    // The web chat's other languages
    [InlineData("Gotera en el baño, me llamo Ana López", "Ana López")]
    [InlineData("Ich heiße Anna Müller und mein Keller steht unter Wasser", "Anna Müller")]
    [InlineData("اسمي أحمد", "أحمد")]
    public void ASelfIntroducedNameIsRead(string text, string expected) =>
        Assert.Equal(expected, CallerDetails.StatedName(text));

    [Theory]
    [InlineData("C'est urgent, mon sous-sol est inondé")]
    [InlineData("C'est Urgent!")]
    [InlineData("Bonjour, c'est pour un drain bouché")]
    [InlineData("c'est moi qui ai appelé tantôt")]
    [InlineData("I'm calling about a leak")]
    [InlineData("I'm Calling About A Leak")]
    [InlineData("This is an emergency, there's water everywhere")]
    [InlineData("This Is An Emergency")]
    [InlineData("I'm at home right now")]
    [InlineData("I'm really worried about the basement")]
    [InlineData("I'm Sorry, I didn't hear")]
    [InlineData("I am not sure where the valve is")]
    [InlineData("Je suis inquiète, il y a de l'eau partout")]
    [InlineData("Je suis à Laval")]
    [InlineData("Il y a de l'eau ici")]
    [InlineData("Ici, ça coule partout")]
    [InlineData("this is the third time I call")]
    [InlineData("my name is not important")]
    [InlineData("Mon sous-sol est inondé, c'est Marie qui m'a donné votre numéro")] // "c'est" not at the start of the call
    [InlineData("It's flooding in the basement")]
    [InlineData("It's Leaking")]
    [InlineData("I'm Canadian and I want a quote")]
    [InlineData("")]
    [InlineData(null)]
    public void CommonWordsAreNeverANameAndAWeakCueNeedsACapital(string? text) =>
        Assert.Null(CallerDetails.StatedName(text));

    [Theory]
    [InlineData("Bonjour, c'est Marie Tremblay, j'habite au 1234 rue Principale à Laval, mon sous-sol est inondé", "1234 rue Principale à Laval")]
    [InlineData("Hi, my name is John Smith, I'm at 55 King Street West", "55 King Street West")]
    [InlineData("We're at 55 King Street West in Toronto and the pipe burst", "55 King Street West in Toronto")]
    [InlineData("C'est au 4500, boulevard Saint-Laurent Est, Montréal", "4500, boulevard Saint-Laurent Est")]
    [InlineData("L'adresse c'est 12 chemin du Lac à Saint-Sauveur.", "12 chemin du Lac à Saint-Sauveur")]
    [InlineData("au 3-250 boul. des Laurentides à Laval", "3-250 boul. des Laurentides à Laval")]
    [InlineData("on est au 789 rang Saint-Joseph à Sainte-Julie", "789 rang Saint-Joseph à Sainte-Julie")]
    [InlineData("1200 montée Masson", "1200 montée Masson")]
    [InlineData("j'habite au 1234 rue principale à laval", "1234 rue principale")]
    [InlineData("c'est le 1234 rue de la Montagne, app 4", "1234 rue de la Montagne")]
    [InlineData("45 croissant des Érables", "45 croissant des Érables")]
    [InlineData("15 côte Sainte-Catherine Mon lavabo fuit", "15 côte Sainte-Catherine")]
    [InlineData("The address is 45B Elm St. Please hurry", "45B Elm St")]
    [InlineData("I live at 300 5th Avenue", "300 5th Avenue")]
    [InlineData("It's 12 Maple Drive in North York", "12 Maple Drive in North York")]
    [InlineData("1 Place Ville-Marie", "1 Place Ville-Marie")]
    [InlineData("My toilet is clogged.\nI'm at 88 Queen Street East.", "88 Queen Street East")]
    public void AStatedStreetAddressIsRead(string text, string expected) =>
        Assert.Equal(expected, CallerDetails.StatedAddress(text));

    [Theory]
    [InlineData("J'ai 2 toilettes bouchées")]
    [InlineData("ça fait 3 jours que ça coule")]
    [InlineData("on a 2 places de stationnement")]
    [InlineData("il y a 2 chemins pour se rendre")]
    [InlineData("I waited 3 hours on the road")]
    [InlineData("I have 2 St Bernards in the yard")]
    [InlineData("I have 3 Court dates this week")]
    [InlineData("Call me back at 514 555 0199")]
    [InlineData("it's been 2 weeks, the drive is flooded")]
    [InlineData("we're 4 people in the house, on King Street")]
    [InlineData("j'habite sur la rue Principale")]
    [InlineData("")]
    [InlineData(null)]
    public void NumbersThatAreNotACivicNumberMakeNoAddress(string? text) =>
        Assert.Null(CallerDetails.StatedAddress(text));

    [Fact]
    public void ATranscriptLeadCarriesTheNameAndAddressTheCallerSaid()
    {
        var lead = LeadExtractor.FromConversation(null, null,
            "Bonjour, c'est Marie Tremblay, j'habite au 1234 rue Principale à Laval, mon sous-sol est inondé", null, "+15145559876",
            UrgencyRules.Plumbing, "CA");

        Assert.NotNull(lead);
        Assert.Equal(("Marie Tremblay", "1234 rue Principale à Laval", "transcript"), (lead.Name, lead.Address, lead.Source));
        Assert.Equal(HeardFields.Name | HeardFields.Address | HeardFields.Phone, lead.Heard); // the phone is the caller id
        Assert.Equal("emergency", lead.Urgency);
    }

    [Fact]
    public void DeclaredFieldsWinAndOnlyEmptyOnesAreFilledFromTheCallersWords()
    {
        using var doc = JsonDocument.Parse("""{"customerName":"Marie-Ève Tremblay","issue":"sous-sol inondé"}""");
        const string words = "Hi, my name is John Smith, I'm at 55 King Street West";

        var lead = LeadExtractor.FromConversation(doc.RootElement, null, words, null, "+15145559876", UrgencyRules.Plumbing, "CA");
        var captured = new LeadDraft(null, null, "12 rue des Érables", "fuite", "routine", "tool");
        var fromTool = LeadExtractor.FromConversation(null, captured, words, null, "+15145559876", UrgencyRules.Plumbing, "CA");

        // Neither gave a phone: the caller id fills it, flagged as such (it never replaces a number a tool captured).
        Assert.Equal(("Marie-Ève Tremblay", "55 King Street West", HeardFields.Address | HeardFields.Phone), (lead!.Name, lead.Address, lead.Heard));
        Assert.Equal(("John Smith", "12 rue des Érables", HeardFields.Name | HeardFields.Phone), (fromTool!.Name, fromTool.Address, fromTool.Heard));
    }

    [Fact]
    public void A100KilobyteTranscriptIsReadInLinearTime()
    {
        // Adversarial for a backtracking pattern: many cues with no name after them, many numbers with no street after them,
        // and long runs of letters; the caller's name and address come last.
        var text = new StringBuilder();
        var i = 0;
        while (text.Length < 100_000)
        {
            text.Append((i++ % 3) switch
            {
                0 => "this is the water I'm telling you about, c'est ici que ça coule 12 34 567 ",
                1 => "1 " + new string('a', 200) + " 22 Aaaa Bbbb Cccc Dddd Eeee street-ish ",
                _ => "I'm at home and I am worried, je suis au sous-sol, ici 9 9 9 Rue\n",
            });
        }
        text.Append("\nMy name is Priya Patel, I live at 300 Queen Street West in Toronto.");
        var callerText = text.ToString();
        CallerDetails.StatedName("warm-up 1 rue A"); // JIT
        CallerDetails.StatedAddress("warm-up 1 rue A");

        var clock = Stopwatch.StartNew();
        var lead = LeadExtractor.FromConversation(null, null, callerText, null, "+15145559876", UrgencyRules.Plumbing, "CA");
        clock.Stop();

        Assert.Equal(("Priya Patel", "300 Queen Street West in Toronto"), (lead!.Name, lead.Address));
        // Linear: a few milliseconds here; a quadratic scan of 100 KB takes seconds to minutes. Generous for a shared CI core.
        Assert.True(clock.ElapsedMilliseconds < 1000, $"took {clock.ElapsedMilliseconds} ms");
    }
}
