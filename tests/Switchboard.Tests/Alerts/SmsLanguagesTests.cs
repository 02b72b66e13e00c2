using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Alerts;

/// <summary>
/// The staff texts in Spanish, German, Hebrew and Arabic: the same facts as in French and English, within the same
/// segment budgets (GSM-7 160/153 septets; UCS-2, as Hebrew and Arabic always are, 70/67 units), the number kept whole.
/// </summary>
public sealed class SmsLanguagesTests
{
    private const string Lrm = "\u200E"; // a left-to-right mark: "+972…" reads left to right in a right-to-left line

    private static Lead Lead(string? problem, string? name, string? phone, string? address, string urgency = "emergency") => new()
    {
        Id = Guid.NewGuid(),
        TenantId = Guid.NewGuid(),
        CallId = Guid.NewGuid(),
        Name = name,
        Phone = phone,
        Address = address,
        Problem = problem,
        Urgency = urgency,
        Source = "vapi",
    };

    private static Lead Montreal(string problem, string urgency = "emergency") => Lead(problem, "Marie Tremblay", "+15145559876", "45, rue Principale, Laval", urgency);

    private static Lead TelAviv(string? problem, string urgency = "emergency", string? address = "הרצל 12, תל אביב") => Lead(problem, "דנה לוי", "+972545550111", address, urgency);

    private static Lead Haifa(string? problem, string urgency = "emergency", string? address = "شارع يافا 5، حيفا") => Lead(problem, "سارة حداد", "+972545550111", address, urgency);

    [Fact]
    public void EveryLanguageTheReceptionistSpeaksHasItsTexts() =>
        Assert.Equal(ReceptionistLanguage.All.Keys.Order(), SmsText.LanguageCodes.Order());

    [Theory]
    [InlineData("es-MX", "URGENCIA Drain Fortin")]
    [InlineData("es", "URGENCIA Drain Fortin")]
    [InlineData("de-DE", "NOTFALL Drain Fortin")]
    [InlineData("he-IL", "חירום Drain Fortin")]
    [InlineData("he", "חירום Drain Fortin")]
    [InlineData("ar-EG", "طوارئ Drain Fortin")]
    [InlineData("ar", "طوارئ Drain Fortin")]
    [InlineData("fr-CA", "URGENCE Drain Fortin")]
    [InlineData("pt-BR", "EMERGENCY Drain Fortin")] // a language without texts: English
    public void TheLanguageTagChoosesTheTexts(string language, string head) =>
        Assert.StartsWith(head + "\n", SmsText.ForLead("Drain Fortin", Montreal("Fuite."), emergency: true, language));

    [Fact]
    public void ASpanishEmergencyStaysGsmSevenInOneSegment()
    {
        var text = SmsText.ForLead("Drain Fortin", Montreal("Hay agua por todas partes en el sotano."), emergency: true, "es-MX");

        Assert.Equal("URGENCIA Drain Fortin\nMarie Tremblay +15145559876\nDomicilio: 45, rue Principale, Laval\n" +
            "Problema: Hay agua por todas partes en el sotano.\nLlamar de inmediato.", text);
        Assert.Equal(new SmsCount("GSM-7", text.Length, 1), SmsSegments.Count(text));
    }

    [Fact]
    public void ASpanishCallersAccentsMakeItUcsTwoAndTheProblemIsTrimmedToTwoSegments()
    {
        const string problem = "Se reventó un tubo en la cocina y el agua ya llegó a la sala.";
        var text = SmsText.ForLead("Plomería Ruiz", Montreal(problem), emergency: true, "es-MX");

        Assert.StartsWith("URGENCIA Plomería Ruiz\nMarie Tremblay +15145559876\nDomicilio: 45, rue Principale, Laval\nProblema: Se reventó", text);
        Assert.EndsWith("...\nLlamar de inmediato.", text);
        Assert.Equal(new SmsCount("UCS-2", text.Length, 2), SmsSegments.Count(text));
        Assert.Equal(3, SmsSegments.Count(text.Replace(text.Split('\n')[3], "Problema: " + problem)).Segments); // whole, it would not fit
    }

    [Fact]
    public void ARoutineSpanishLeadReadsNaturally()
    {
        var text = SmsText.ForLead("Drain Fortin", Montreal("Gotea la llave del lavabo.", "routine"), emergency: false, "es-MX");

        Assert.Equal("Nuevo cliente Drain Fortin\nMarie Tremblay +15145559876\nDomicilio: 45, rue Principale, Laval\n" +
            "Problema: Gotea la llave del lavabo.\nLlamar lo antes posible.", text);
        Assert.Equal(new SmsCount("GSM-7", text.Length, 1), SmsSegments.Count(text));
    }

    [Fact]
    public void ASpanishFollowUpGivesTheNewNumberInOneGsmSevenSegment()
    {
        var text = SmsText.NewCallbackNumber("Drain Fortin", Lead(null, "Luc", "+15145550777", null), "es-MX");

        Assert.Equal("URGENCIA Drain Fortin\nNuevo teléfono de contacto: Luc +15145550777\nLlamar de inmediato.", text);
        Assert.Equal(new SmsCount("GSM-7", text.Length, 1), SmsSegments.Count(text));
    }

    [Fact]
    public void AHiddenCallerIdIsSaidInSpanish()
    {
        var text = SmsText.ForLead("Drain Fortin", Lead("Fuga.", null, "anonymous", null), emergency: true, "es-MX");

        Assert.Equal("URGENCIA Drain Fortin\nCliente (identificador oculto, sin teléfono de contacto)\nProblema: Fuga.\nLlamar de inmediato.", text);
        Assert.Equal(new SmsCount("GSM-7", text.Length, 1), SmsSegments.Count(text));
    }

    [Fact]
    public void GermanTextsKeepTheFactsInGsmSeven()
    {
        var emergency = SmsText.ForLead("Drain Fortin", Montreal("Rohrbruch im Keller, alles unter Wasser."), emergency: true, "de-DE");
        var routine = SmsText.ForLead("Drain Fortin", Montreal("Der Wasserhahn tropft.", "routine"), emergency: false, "de-DE");
        var followUp = SmsText.NewCallbackNumber("Drain Fortin", Lead(null, "Luc", "+15145550777", null), "de-DE");

        Assert.Equal("NOTFALL Drain Fortin\nMarie Tremblay +15145559876\nAdresse: 45, rue Principale, Laval\n" +
            "Problem: Rohrbruch im Keller, alles unter Wasser.\nSofort zurückrufen.", emergency);
        Assert.Equal("Neue Anfrage Drain Fortin\nMarie Tremblay +15145559876\nAdresse: 45, rue Principale, Laval\n" +
            "Problem: Der Wasserhahn tropft.\nBitte zurückrufen.", routine);
        Assert.Equal("NOTFALL Drain Fortin\nNeue Rückrufnummer: Luc +15145550777\nSofort zurückrufen.", followUp);
        Assert.All([emergency, routine, followUp], t => Assert.Equal(new SmsCount("GSM-7", t.Length, 1), SmsSegments.Count(t)));
    }

    [Fact]
    public void AHebrewEmergencyIsUcsTwoInTwoSegmentsWithTheNumberLeftToRight()
    {
        var text = SmsText.ForLead("חשמל כהן", TelAviv("ריח שרוף מהלוח והחשמל קפץ."), emergency: true, "he-IL");

        Assert.Equal($"חירום חשמל כהן\nדנה לוי {Lrm}+972545550111\nכתובת: הרצל 12, תל אביב\nהבעיה: ריח שרוף מהלוח והחשמל קפץ.\nלחזור מיד.", text);
        Assert.Equal(new SmsCount("UCS-2", 106, 2), SmsSegments.Count(text));
    }

    [Fact]
    public void ARoutineHebrewLeadReadsNaturally()
    {
        var text = SmsText.ForLead("חשמל כהן", TelAviv("שקע לא עובד במטבח.", "routine"), emergency: false, "he-IL");

        Assert.Equal($"פנייה חדשה חשמל כהן\nדנה לוי {Lrm}+972545550111\nכתובת: הרצל 12, תל אביב\nהבעיה: שקע לא עובד במטבח.\nלחזור בהקדם.", text);
        Assert.Equal(new SmsCount("UCS-2", 105, 2), SmsSegments.Count(text));
    }

    [Fact]
    public void AHebrewFollowUpFitsOneUcsTwoSegment()
    {
        var text = SmsText.NewCallbackNumber("חשמל כהן", Lead(null, "דנה", "+972545550111", null), "he-IL");

        Assert.Equal($"חירום חשמל כהן\nמספר חדש לחזרה: דנה {Lrm}+972545550111\nלחזור מיד.", text);
        Assert.Equal(new SmsCount("UCS-2", 60, 1), SmsSegments.Count(text));
    }

    [Fact]
    public void AHiddenCallerIdIsSaidInHebrew()
    {
        var text = SmsText.ForLead("חשמל כהן", Lead("קצר חשמלי.", null, "anonymous", null), emergency: true, "he-IL");

        Assert.Equal("חירום חשמל כהן\nלקוח (מספר חסוי, אין מספר לחזרה)\nהבעיה: קצר חשמלי.\nלחזור מיד.", text);
        Assert.Equal(new SmsCount("UCS-2", text.Length, 2), SmsSegments.Count(text));
    }

    [Fact]
    public void AnArabicEmergencyIsUcsTwoInTwoSegmentsWithTheNumberLeftToRight()
    {
        var text = SmsText.ForLead("كهرباء حداد", Haifa("رائحة احتراق من لوحة الكهرباء."), emergency: true, "ar");

        Assert.Equal($"طوارئ كهرباء حداد\nسارة حداد {Lrm}+972545550111\nالعنوان: شارع يافا 5، حيفا\nالمشكلة: رائحة احتراق من لوحة الكهرباء.\nاتصل فورًا.", text);
        Assert.Equal(new SmsCount("UCS-2", 121, 2), SmsSegments.Count(text));
    }

    [Fact]
    public void ARoutineArabicLeadReadsNaturally()
    {
        var text = SmsText.ForLead("كهرباء حداد", Haifa("مقبس لا يعمل في المطبخ.", "routine"), emergency: false, "ar-EG");

        Assert.Equal($"عميل جديد كهرباء حداد\nسارة حداد {Lrm}+972545550111\nالعنوان: شارع يافا 5، حيفا\nالمشكلة: مقبس لا يعمل في المطبخ.\nيرجى الاتصال في أقرب وقت.", text);
        Assert.Equal(new SmsCount("UCS-2", 132, 2), SmsSegments.Count(text));
    }

    [Fact]
    public void AnArabicFollowUpFitsOneUcsTwoSegment()
    {
        var text = SmsText.NewCallbackNumber("كهرباء حداد", Lead(null, "سارة", "+972545550111", null), "ar");

        Assert.Equal($"طوارئ كهرباء حداد\nرقم جديد للاتصال: سارة {Lrm}+972545550111\nاتصل فورًا.", text);
        Assert.Equal(new SmsCount("UCS-2", 67, 1), SmsSegments.Count(text));
    }

    [Theory]
    [InlineData("he-IL", "יש ריח חזק של שרוף מהלוח החשמלי בכניסה, החשמל קפץ בכל הבית ויש ניצוצות מהשקע בחדר של הילדים, אנחנו יצאנו החוצה", "\nלחזור מיד.")]
    [InlineData("ar", "هناك رائحة احتراق قوية من لوحة الكهرباء عند المدخل، وانقطع التيار في كل البيت وتخرج شرارات من المقبس في غرفة الأطفال", "\nاتصل فورًا.")]
    public void ALongRightToLeftEmergencyIsTrimmedInItsProblemNotItsNumber(string language, string problem, string end)
    {
        var lead = language == "ar" ? Haifa(problem) : TelAviv(problem);

        var text = SmsText.ForLead(language == "ar" ? "كهرباء حداد" : "חשמל כהן", lead, emergency: true, language);

        var count = SmsSegments.Count(text);
        Assert.Equal(("UCS-2", 2), (count.Encoding, count.Segments));
        Assert.Contains(Lrm + "+972545550111\n", text);
        Assert.Contains(lead.Address!, text);
        Assert.EndsWith("..." + end, text);
        var kept = text.Split('\n')[3];
        kept = kept[(kept.IndexOf(": ", StringComparison.Ordinal) + 2)..^3];
        Assert.StartsWith(kept, problem);
        Assert.True(kept.Length > 5, kept); // as much of the problem as fits, not nothing
    }

    [Theory]
    [InlineData("")]
    [InlineData("א")] // shifts every pair by one unit: the cut falls on either half
    public void TrimmingNeverSplitsASurrogatePair(string prefix)
    {
        var problem = prefix + string.Concat(Enumerable.Repeat("🔥💧", 60));

        var text = SmsText.ForLead("חשמל כהן", TelAviv(problem, address: null), emergency: true, "he-IL");

        Assert.True(SmsSegments.Count(text).Segments <= SmsText.EmergencySegments, text);
        Assert.Contains("...", text);
        for (var i = 0; i < text.Length; i++)
        {
            Assert.False(char.IsHighSurrogate(text[i]) && (i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1])), $"a lone high surrogate at {i}");
            Assert.False(char.IsLowSurrogate(text[i]) && (i == 0 || !char.IsHighSurrogate(text[i - 1])), $"a lone low surrogate at {i}");
        }
    }
}

/// <summary>The alert policy's language, else the tenant's locale, chooses the language of the texts the on-call phone gets.</summary>
[Trait("Category", "Database")]
public sealed class SmsLanguageChoiceTests(TwilioFactory factory) : IClassFixture<TwilioFactory>
{
    private static string NewNumber() => "+1514" + Random.Shared.Next(2_000_000, 9_999_999);

    private static string Capture(string callId, string callerId, string arguments) =>
        """{"message":{"type":"tool-calls","call":{"id":"CALLID","customer":{"number":"CALLER"}},"toolCallList":[{"id":"t1","type":"function","function":{"name":"capture_lead","arguments":ARGS}}]}}"""
            .Replace("CALLID", callId).Replace("CALLER", callerId).Replace("ARGS", arguments);

    [Fact]
    public async Task AnIsraeliElectricianIsTextedInHebrewAndSoIsTheNumberGivenAfterTheAlert()
    {
        var onCall = NewNumber();
        var tenant = await factory.CreateTenantAsync("חשמל כהן", withTwilio: true, configure: t =>
        {
            t.Locale = "he-IL";
            t.TimeZone = "Asia/Jerusalem";
            t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall] };
        });
        var callId = Guid.NewGuid().ToString();

        await factory.PostVapiAsync(tenant, Capture(callId, "anonymous", """{"problem":"ניצוצות מהלוח החשמלי","name":"דנה","urgency":"emergency"}"""));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        await factory.PostVapiAsync(tenant, Capture(callId, "anonymous", """{"problem":"ניצוצות מהלוח החשמלי","name":"דנה","phone":"054-555-0111","urgency":"emergency"}"""));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var texts = factory.Twilio.Messages.Where(m => m.To == onCall).Select(m => m.Body).ToList();
        Assert.Equal(2, texts.Count);
        Assert.Equal("חירום חשמל כהן\nדנה (מספר חסוי, אין מספר לחזרה)\nהבעיה: ניצוצות מהלוח החשמלי\nלחזור מיד.", texts[0]);
        Assert.Equal("חירום חשמל כהן\nמספר חדש לחזרה: דנה \u200E+972545550111\nלחזור מיד.", texts[1]);
        Assert.Equal((2, 1), (SmsSegments.Count(texts[0]).Segments, SmsSegments.Count(texts[1]).Segments)); // within the 2-segment budget; the follow-up in one
    }

    [Fact]
    public async Task ThePolicysLanguageWinsOverTheTenantsLocale()
    {
        var onCall = NewNumber();
        var tenant = await factory.CreateTenantAsync(withTwilio: true, configure: t =>
            t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall], Language = "es-MX" }); // a fr-CA business, texts in Spanish

        await factory.PostVapiAsync(tenant, Capture(Guid.NewGuid().ToString(), "+15145559876", """{"problem":"Se inundó el sótano","name":"Luis","urgency":"emergency"}"""));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var sent = Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
        Assert.Equal("URGENCIA Drain Fortin\nLuis +15145559876\nProblema: Se inundó el sótano\nLlamar de inmediato.", sent.Body);
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync());
        Assert.Equal(Urgency.Emergency, lead.Urgency);
    }
}
