using Switchboard.Alerts;
using Switchboard.Calls;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Alerts;

/// <summary>SMS encoding and segments (3GPP TS 23.038 / 23.040): GSM-7 when the whole text fits it, else UCS-2.</summary>
public sealed class SmsSegmentsTests
{
    [Theory]
    [InlineData(160, 1)]
    [InlineData(161, 2)]
    [InlineData(306, 2)]
    [InlineData(307, 3)]
    public void GsmSevenHolds160AloneAnd153PerConcatenatedSegment(int length, int segments) =>
        Assert.Equal(new SmsCount("GSM-7", length, segments), SmsSegments.Count(new string('é', length)));

    [Theory]
    [InlineData(70, 1)]
    [InlineData(71, 2)]
    [InlineData(134, 2)]
    [InlineData(135, 3)]
    public void UcsTwoHolds70AloneAnd67PerConcatenatedSegment(int length, int segments) =>
        Assert.Equal(new SmsCount("UCS-2", length, segments), SmsSegments.Count(new string('ç', length)));

    [Fact]
    public void ExtensionCharactersCountTwoSeptets()
    {
        Assert.Equal(new SmsCount("GSM-7", 160, 1), SmsSegments.Count(new string('€', 80)));
        Assert.Equal(new SmsCount("GSM-7", 162, 2), SmsSegments.Count(new string('|', 81)));
        Assert.Equal(new SmsCount("GSM-7", 14, 1), SmsSegments.Count("{}[]^~\\"));
    }

    [Theory]
    [InlineData("Problème : refoulement d'égout à Montréal, où ça? Non: là.", "UCS-2")] // ç
    [InlineData("Problème : refoulement d'égout. À Montréal, où? Là.", "UCS-2")]       // À is not GSM-7 (à is)
    [InlineData("Problème : refoulement d'égout à Montréal, où? là. É", "GSM-7")]
    [InlineData("Chauffe-eau brisé, fenêtre", "UCS-2")]                                // ê
    [InlineData("Tuyau gelé 🥶", "UCS-2")]
    public void TheEncodingFollowsEveryCharacter(string text, string encoding) => Assert.Equal(encoding, SmsSegments.Count(text).Encoding);

    [Fact]
    public void AnEmojiCountsTwoUcsTwoUnits() => Assert.Equal(new SmsCount("UCS-2", 2, 1), SmsSegments.Count("🥶"));
}

/// <summary>Real French alerts: fixed words keep their accents, the facts are never cut, an emergency fits 2 segments.</summary>
public sealed class SmsTextTests
{
    private static Lead Lead(string? problem, string? address = "45, rue Principale, Laval", string? name = "Marie Tremblay", string urgency = "emergency") => new()
    {
        Id = Guid.NewGuid(),
        TenantId = Guid.NewGuid(),
        CallId = Guid.NewGuid(),
        Name = name,
        Phone = "+15145559876",
        Address = address,
        Problem = problem,
        Urgency = urgency,
        Source = "vapi",
    };

    [Fact]
    public void AFrenchEmergencyKeepsItsAccentsAndStaysGsmSevenWhenItCan()
    {
        var text = SmsText.ForLead("Drain Fortin", Lead("Le sous-sol est inondé, l'eau monte."), emergency: true, "fr-CA");

        Assert.Equal("URGENCE Drain Fortin\nMarie Tremblay +15145559876\nAdresse : 45, rue Principale, Laval\n" +
            "Problème : Le sous-sol est inondé, l'eau monte.\nRappeler immédiatement.", text);
        Assert.Equal(new SmsCount("GSM-7", text.Length, 1), SmsSegments.Count(text)); // accents and all, one GSM-7 message
    }

    [Fact]
    public void ACallersWordsOutsideGsmSevenMakeTheMessageUcsTwo()
    {
        var text = SmsText.ForLead("Plomberie Côté", Lead("Ça coule du plafond.", address: null), emergency: true, "fr-CA");

        Assert.Contains("Problème : Ça coule du plafond.", text);
        Assert.EndsWith("Rappeler immédiatement.", text);
        Assert.Equal("UCS-2", SmsSegments.Count(text).Encoding);
        Assert.True(SmsSegments.Count(text).Segments <= 2);
    }

    [Theory]
    [InlineData("Le chauffe-eau a éclaté dans le sous-sol, il y a de l'eau partout sur le plancher du garage et ça commence à atteindre " +
        "la salle de lavage; la cliente a fermé l'entrée d'eau principale mais ça continue de couler du plafond près du panneau électrique.")]
    [InlineData("Refoulement d'égout majeur au sous-sol après la pluie de cette nuit, l'eau noire remonte par le drain de plancher et " +
        "les toilettes du rez-de-chaussée débordent aussi; il y a des enfants en bas âge dans la maison et le propriétaire est absent jusqu'à demain.")]
    public void ALongEmergencyIsTrimmedInItsProblemNotItsFacts(string problem)
    {
        var lead = Lead(problem, address: "1234, boulevard des Laurentides, app. 5, Laval (Québec) H7G 2V1");

        var text = SmsText.ForLead("Plomberie Saint-Jean", lead, emergency: true, "fr-CA");

        var count = SmsSegments.Count(text);
        Assert.True(count.Segments <= 2, $"{count}: {text}");
        Assert.StartsWith("URGENCE Plomberie Saint-Jean\nMarie Tremblay +15145559876\nAdresse : 1234, boulevard des Laurentides, app. 5, Laval (Québec) H7G 2V1\nProblème : ", text);
        Assert.EndsWith("...\nRappeler immédiatement.", text);
        var kept = text[(text.IndexOf("Problème : ", StringComparison.Ordinal) + 11)..text.IndexOf("...\n", StringComparison.Ordinal)];
        Assert.StartsWith(kept, problem);
        Assert.True(kept.Length > 20, kept); // as much of the problem as fits, not nothing
        Assert.True(SmsSegments.Count(text.Replace(kept + "...", problem + "...")).Segments > 2); // the whole problem would not have fitted
    }

    [Fact]
    public void InUcsTwoTheFactsStayWholeEvenPastTwoSegments()
    {
        // "Saint-Jérôme" (ô) makes the whole message UCS-2: 2 segments are 134 units, less than these facts alone.
        var lead = Lead("Le chauffe-eau fuit.", address: "1234, boulevard des Laurentides, app. 5, Laval (Québec) H7G 2V1");

        var text = SmsText.ForLead("Plomberie Saint-Jérôme", lead, emergency: true, "fr-CA");

        Assert.Equal("URGENCE Plomberie Saint-Jérôme\nMarie Tremblay +15145559876\nAdresse : 1234, boulevard des Laurentides, app. 5, Laval (Québec) H7G 2V1\n" +
            "Rappeler immédiatement.", text);
        Assert.Equal("UCS-2", SmsSegments.Count(text).Encoding);
    }

    [Fact]
    public void WhenTheFactsAloneFillTwoSegmentsTheProblemGoesAndTheFactsStay()
    {
        var address = string.Join(", ", Enumerable.Repeat("Place du Marché-Saint-Jacques", 10));
        var text = SmsText.ForLead("Plomberie", Lead("Fuite.", address: address), emergency: true, "fr-CA");

        Assert.Contains(address, text);
        Assert.Contains("+15145559876", text);
        Assert.DoesNotContain("Problème", text);
        Assert.EndsWith("Rappeler immédiatement.", text);
    }

    [Fact]
    public void ANonUrgentFrenchLeadReadsNaturally()
    {
        var text = SmsText.ForLead("Drain Fortin", Lead("Robinet qui goutte dans la salle de bain.", urgency: "routine"), emergency: false, "fr-CA");

        Assert.Equal("Nouveau client Drain Fortin\nMarie Tremblay +15145559876\nAdresse : 45, rue Principale, Laval\n" +
            "Problème : Robinet qui goutte dans la salle de bain.\nRappeler dès que possible.", text);
        Assert.Equal("GSM-7", SmsSegments.Count(text).Encoding);
    }

    [Fact]
    public void EnglishAlertsKeepTheirWording()
    {
        var text = SmsText.ForLead("Drain Fortin", Lead("Burst pipe in the kitchen."), emergency: true, "en-US");

        Assert.Equal("EMERGENCY Drain Fortin\nMarie Tremblay +15145559876\nAddress: 45, rue Principale, Laval\nProblem: Burst pipe in the kitchen.\nCall back now.", text);
    }
}

/// <summary>The accented alert reaches Twilio as sent: the simulator receives the French text intact.</summary>
[Trait("Category", "Database")]
public sealed class SmsAccentsAtTwilioTests(TwilioFactory factory) : IClassFixture<TwilioFactory>
{
    [Fact]
    public async Task TheTwilioSimulatorReceivesTheAccentedFrenchAlert()
    {
        var onCall = "+1514" + Random.Shared.Next(2_000_000, 9_999_999);
        var tenant = await factory.CreateTenantAsync(withTwilio: true,
            configure: t => t.AlertPolicy = new global::Switchboard.Tenancy.AlertPolicy { OnCallNumbers = [onCall], OfficeNumbers = [] });
        var report = VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Le sous-sol de l'appelant est inondé.",
            "Bonjour, mon sous-sol est inondé, il y a de l'eau partout!", "Je suis au 45 rue Principale à Laval.");

        Assert.True((await factory.PostVapiAsync(tenant, report)).IsSuccessStatusCode);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var sent = Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
        Assert.StartsWith("URGENCE Drain Fortin", sent.Body);
        Assert.Contains("Problème : ", sent.Body);
        Assert.EndsWith("Rappeler immédiatement.", sent.Body);
        Assert.True(SmsSegments.Count(sent.Body).Segments <= 2, sent.Body);
    }
}
