using System.Text.Json;
using Switchboard.Calls;
using Switchboard.Tenancy;

namespace Switchboard.Tests.Calls;

public sealed class UrgencyAndLeadTests
{
    private static readonly UrgencyRules Plumbing = UrgencyRules.Plumbing;

    [Theory]
    [InlineData("Mon sous-sol est inondé!", "emergency")]
    [InlineData("On a un gros dégât d'eau dans la cuisine", "emergency")]
    [InlineData("Il y a un refoulement d’égout au sous-sol", "emergency")]
    [InlineData("J'ai un tuyau gelé depuis ce matin", "emergency")]
    [InlineData("On n'a pas d'eau depuis hier", "emergency")]
    [InlineData("INONDATION au sous-sol", "emergency")]
    [InlineData("My basement is flooding", "emergency")]
    [InlineData("We have a sewer backup", "emergency")]
    [InlineData("a pipe burst — there's a burst pipe in the wall", "emergency")]
    [InlineData("Ma toilette est bouchée", "soon")]
    [InlineData("There's a small leak under the sink", "soon")]
    [InlineData("Je voudrais une soumission pour un adoucisseur d'eau", "routine")]
    [InlineData("I'd like a quote for a new water heater install next month", "soon")]
    [InlineData("Il n'y a pas d'inondation, juste une question", "routine")]
    [InlineData("No flooding, just a question about pricing", "routine")]
    [InlineData("The basement isn't flooded", "routine")]
    [InlineData("", "routine")]
    // Québec French as callers say it (an outside probe found each routine), and what is not an emergency.
    [InlineData("J'ai un tuyau qui a pété dans le garage", "emergency")]
    [InlineData("J'ai pu d'eau chez nous", "emergency")]
    [InlineData("Mes tuyaux sont gelés", "emergency")]
    [InlineData("Le drain refoule", "emergency")]
    [InlineData("Ça refoule dans le sous-sol", "emergency")]
    [InlineData("Ma cave est pleine d'eau", "emergency")]
    [InlineData("Il y a de l'eau partout dans la cave", "emergency")]
    [InlineData("Un tuyau a crevé", "emergency")]
    [InlineData("My pipes are frozen", "emergency")]
    [InlineData("Hi, this is Pete, my toilet is clogged", "soon")]
    [InlineData("Is my basement at risk of flooding? I want a backwater valve installed", "routine")]
    [InlineData("Je veux une valve anti-retour pour éviter un refoulement", "routine")]
    [InlineData("I need a quote for a new water heater, no rush at all", "routine")]
    [InlineData("Une soumission pour un chauffe-eau l'an prochain, pas pressé", "routine")]
    // Asking what an emergency costs is not an emergency; the situation itself still is, price question or not.
    [InlineData("How much do you charge for an emergency visit on a weekend?", "routine")]
    [InlineData("What are your emergency rates?", "routine")]
    [InlineData("Combien coûte une visite d'urgence la fin de semaine?", "routine")]
    [InlineData("C'est quoi vos frais d'urgence?", "routine")]
    [InlineData("It's an emergency! How much will it cost?", "emergency")]
    [InlineData("I need emergency service right now", "emergency")]
    [InlineData("C'est une urgence, mon sous-sol", "emergency")]
    [InlineData("How much to fix a burst pipe? It burst an hour ago", "emergency")]
    // No hot water is the water heater, not a house without water: "pas d'eau chaude" is longer than the "pas d'eau" it
    // contains, and wins (an outside probe: each texted the on-call plumber as an emergency).
    [InlineData("Je n'ai pas d'eau chaude depuis ce matin", "soon")]
    [InlineData("J'ai plus d'eau chaude", "soon")]
    [InlineData("J'ai pu d'eau chaude pis le sous-sol est plein d'eau", "emergency")]
    [InlineData("On n'a pas d'eau pantoute, pas d'eau chaude non plus", "emergency")]
    // Floods as callers tell them (an outside probe found each routine).
    [InlineData("Mon sous-sol prend l'eau", "emergency")]
    [InlineData("Y'a de l'eau qui coule partout dans le sous-sol", "emergency")]
    [InlineData("Le tuyau a fendu pis ça arrose partout", "emergency")]
    [InlineData("Le tuyau a fendu dans la cuisine", "emergency")]
    [InlineData("Le tuyau du lavabo est fissuré", "emergency")]
    [InlineData("A pipe in the basement cracked", "emergency")]
    [InlineData("L'eau rentre dans le sous-sol", "emergency")]
    [InlineData("My basement is full of water", "emergency")]
    [InlineData("A pipe broke and water is pouring into the basement", "emergency")]
    [InlineData("The pipe in the kitchen broke", "emergency")]
    [InlineData("There's two inches of water on my basement floor", "emergency")]
    public void CallerWordsAreClassifiedInFrenchAndEnglish(string text, string expected)
    {
        Assert.Equal(expected, UrgencyClassifier.Classify(text, Plumbing).Urgency);
    }

    [Theory]
    // A gas smell, a fire, sparks: an emergency for any business, in every language the receptionist speaks (the generic rules).
    [InlineData("יש ריח חזק של גז במטבח", "emergency")]
    [InlineData("יש ניצוצות מהשקע בסלון ויש ריח של שרוף!", "emergency")]
    [InlineData("Huele mucho a gas en la cocina", "emergency")]
    [InlineData("It smells strongly of gas in the kitchen", "emergency")]
    [InlineData("هناك رائحة قوية جدا غاز في المطبخ", "emergency")]
    [InlineData("Es riecht stark nach Gas", "emergency")]
    [InlineData("I'd like to install a new smoke detector", "routine")]
    [InlineData("Do you sell gas barbecues?", "routine")]
    public void SafetyCuesCountForAnyBusinessInTheirLanguage(string text, string expected)
    {
        Assert.Equal(expected, UrgencyClassifier.Classify(text, UrgencyRules.Generic).Urgency);
    }

    [Theory]
    [InlineData("My daughter fell and knocked out her front tooth, there is a lot of blood", "emergency")]
    [InlineData("My face is really swollen and it's hard to swallow", "emergency")]
    [InlineData("Ma dent a été complètement arrachée en jouant au hockey", "emergency")]
    [InlineData("I'd like to book a cleaning for my son", "routine")]
    public void ADentalClinicsCuesReadWhatPatientsSay(string text, string expected)
    {
        var rules = new Switchboard.Templates.AssistantTemplateCatalog().UrgencyRulesFor("dental-clinic");

        Assert.Equal(expected, UrgencyClassifier.Classify(text, rules).Urgency);
    }

    [Fact]
    public void CuesMatchWholeWordsOnly()
    {
        // "flood" must not match inside another word, nor "fuite" inside "fuiter" etc.
        Assert.Equal("routine", UrgencyClassifier.Classify("floodlight installation", Plumbing).Urgency);
    }

    [Fact]
    public void StructuredDataWinsForFieldsAndUrgencyNeverGoesDown()
    {
        using var doc = JsonDocument.Parse("""{"customerName":"Marie","callbackNumber":"+15145550000","serviceAddress":"1 rue A","issue":"sous-sol inondé","urgency":"low"}""");

        var lead = LeadExtractor.FromConversation(doc.RootElement, null, "bonjour", null, "+15149999999", Plumbing);

        Assert.NotNull(lead);
        Assert.Equal("Marie", lead.Name);
        Assert.Equal("+15145550000", lead.Phone);
        Assert.Equal("1 rue A", lead.Address);
        Assert.Equal("emergency", lead.Urgency);
        Assert.Equal("structured-data", lead.Source);
    }

    [Fact]
    public void WithoutStructuredDataTheCallerNumberAndSummaryMakeTheLead()
    {
        var lead = LeadExtractor.FromConversation(null, null, "Hi, the water heater is leaking.", "Caller reports a leaking water heater.", "+15145551111", Plumbing);

        Assert.NotNull(lead);
        Assert.Equal("+15145551111", lead.Phone);
        Assert.Equal("Caller reports a leaking water heater.", lead.Problem);
        Assert.Equal("soon", lead.Urgency);
        Assert.Equal("transcript", lead.Source);
    }

    /// <summary>
    /// The caller id is the callback number only as a phone number, in E.164: an outside probe's end-of-call reports with
    /// <c>customer.number</c> "(514) 555-0123" and "anonymous" made leads whose phone was exactly that (the capture_lead tool
    /// already read the caller id this way).
    /// </summary>
    [Theory]
    [InlineData("(514) 555-0123", "+15145550123")]
    [InlineData("1 514 555 0123", "+15145550123")]
    [InlineData("+14566836490", "+14566836490")]
    [InlineData("anonymous", null)]
    [InlineData("restricted", null)]
    public void TheCallerIdIsACallbackNumberOnlyInE164(string callerId, string? expected)
    {
        var lead = LeadExtractor.FromConversation(null, null, "Mon sous-sol est inondé.", null, callerId, Plumbing, "CA");

        Assert.NotNull(lead);
        Assert.Equal(expected, lead.Phone);
    }

    [Fact]
    public void ANumberTheCallerSaysToCallBackOnBeatsTheCallerId()
    {
        var lead = LeadExtractor.FromConversation(null, null, "Mon voisin a un dégât d'eau.\nRappelez-le au 514 555 0777 s'il vous plaît.", null,
            "+15145550888", Plumbing, "CA");

        Assert.Equal("+15145550777", lead!.Phone);
        Assert.Equal("+15145550888", LeadExtractor.FromConversation(null, null, "Mon sous-sol est inondé.", null, "+15145550888", Plumbing, "CA")!.Phone);
        // A number only mentioned is not a callback number.
        Assert.Equal("+15145550888", LeadExtractor.FromConversation(null, null, "L'eau vient de chez mon voisin au 450 555 0123.", null, "+15145550888", Plumbing, "CA")!.Phone);
        Assert.Equal("+15145550199", LeadExtractor.FromConversation(null, null, "Sewer backup! Call me back at 514-555-0199 please.", null, "+15145550888", Plumbing, "CA")!.Phone);
    }

    [Fact]
    public void AnEmptyConversationMakesNoLead()
    {
        Assert.Null(LeadExtractor.FromConversation(null, null, "", null, null, Plumbing));
    }
}
