using Switchboard.Twilio;

namespace Switchboard.Tests.Twilio;

/// <summary>The texts Switchboard itself says on a call, and the choice of the caller's language.</summary>
public sealed class VoicePromptsTests
{
    private static readonly string[] AllLanguages = ["fr-CA", "en-US", "es-MX", "ar", "he-IL"];

    // The country → language table as it was built by loops before it became data (same content, one row per country).
    [Theory]
    [InlineData("fr", "FR BE LU MC SN CI HT CH")]
    [InlineData("en", "US GB IE AU NZ")]
    [InlineData("es", "ES MX AR CO CL PE VE EC GT CU BO PY UY SV HN NI CR PA DO PR")]
    [InlineData("ar", "SA AE EG MA DZ TN LY JO LB SY IQ KW QA BH OM YE SD PS")]
    [InlineData("he", "IL")]
    public void ACallerFromACountryIsGreetedInItsMainLanguage(string language, string countries)
    {
        foreach (var country in countries.Split(' '))
        {
            Assert.Equal(language, VoicePrompts.PrimaryOf(VoicePrompts.Choose(AllLanguages, null, country, null)));
            Assert.Equal(language, VoicePrompts.PrimaryOf(VoicePrompts.Choose(AllLanguages, null, country.ToLowerInvariant(), null)));
        }
    }

    [Theory]
    [InlineData("DE")]
    [InlineData("JP")]
    [InlineData("BR")]
    public void ACallerFromACountryWithoutATableLanguageIsGreetedInTheTenantsDefault(string country) =>
        Assert.Equal("es-MX", VoicePrompts.Choose(["es-MX", .. AllLanguages], null, country, null));

    [Theory]
    [InlineData("QC", "fr-CA")]
    [InlineData("NB", "fr-CA")]
    [InlineData("ON", "en-US")]
    [InlineData(null, "he-IL")]
    public void ACanadianCallersLanguageComesFromTheProvince(string? state, string expected) =>
        Assert.Equal(expected, VoicePrompts.Choose(["he-IL", .. AllLanguages], "+15145550142", "CA", state));

    [Theory]
    [InlineData("fr-CA", "Bonjour, ici l'assistant virtuel de Drain Fortin", "Vous pouvez nous joindre au +15145550100.")]
    [InlineData("en-US", "Hello, this is the automated assistant of Drain Fortin", "You can reach us at +15145550100.")]
    [InlineData("es-MX", "Hola, le habla el asistente virtual de Drain Fortin", "Puede contactarnos al +15145550100.")]
    [InlineData("ar", "مرحبًا، معك المساعد الافتراضي لـ Drain Fortin", "يمكنك التواصل معنا على الرقم +15145550100.")]
    [InlineData("he-IL", "שלום, כאן העוזר הווירטואלי של Drain Fortin", "אפשר להשיג אותנו במספר +15145550100.")]
    [InlineData("de-DE", "Hello, this is the automated assistant of Drain Fortin", "You can reach us at +15145550100.")]
    public void TheDefaultVoicemailSpeaksTheCallsLanguageAndGivesTheNumberToCallBack(string language, string opening, string callBack)
    {
        var text = VoicePrompts.DefaultVoicemail(language, "Drain Fortin", "+15145550100");
        Assert.StartsWith(opening, text, StringComparison.Ordinal);
        Assert.Contains(callBack, text, StringComparison.Ordinal);
        Assert.DoesNotContain("+1514", VoicePrompts.DefaultVoicemail(language, "Drain Fortin", null), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fr-CA", "Appel transféré par Paul. Dégât d'eau. Appelant : Marc. Numéro : 1 5 1 4.")]
    [InlineData("en-US", "Call transferred by Paul. Dégât d'eau. Caller: Marc. Number: 1 5 1 4.")]
    [InlineData("es-MX", "Llamada transferida por Paul. Dégât d'eau. Cliente: Marc. Número: 1 5 1 4.")]
    [InlineData("ar", "مكالمة محوّلة من Paul. Dégât d'eau. المتصل: Marc. الرقم: 1 5 1 4.")]
    [InlineData("he-IL", "שיחה מועברת מאת Paul. Dégât d'eau. המתקשר: Marc. מספר: 1 5 1 4.")]
    public void TheWhisperToAnAgentIsInTheCallsLanguage(string language, string expected) =>
        Assert.Equal(expected, VoicePrompts.TransferWhisper(language, "Paul", "Dégât d'eau", "Marc", "1 5 1 4"));

    [Fact]
    public void AWhisperLeavesOutWhatIsNotKnown() =>
        Assert.Equal("Llamada transferida por Paul.", VoicePrompts.TransferWhisper("es", "Paul", "", null, null));
}
