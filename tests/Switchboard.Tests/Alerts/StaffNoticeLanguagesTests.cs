using Switchboard.Alerts;

namespace Switchboard.Tests.Alerts;

/// <summary>
/// The staff texts other than lead alerts (the voice assistant that could not reach its provider, on a phone line or the
/// website widget; the webhook endpoint disabled; the failed subscription payment) in each language the alert texts are
/// written in: in that language and no English left in it, within one GSM-7 segment in the Latin languages where the
/// spelling allows, and in Hebrew and Arabic opening with a word of the language, every number, time, date, host and the
/// brand after a left-to-right mark.
/// </summary>
public sealed class StaffNoticeLanguagesTests
{
    private const char Lrm = '\u200E';
    private static readonly TimeOnly At = new(14, 5);
    private static readonly DateOnly GraceEnds = new(2026, 5, 12);

    public enum Kind
    {
        PhoneVoiceFailure,
        WebVoiceFailure,
        WebhookDisabled,
        PaymentFailed,
    }

    private static string Text(Kind kind, string language, string business = "Drain Fortin", string host = "hooks.drainfortin.ca", double days = 5) => kind switch
    {
        Kind.PhoneVoiceFailure => SmsText.VoiceFailure(business, At, web: false, language),
        Kind.WebVoiceFailure => SmsText.VoiceFailure(business, At, web: true, language),
        Kind.WebhookDisabled => SmsText.WebhookDisabled(business, host, days, language),
        _ => SmsText.PaymentFailed(business, GraceEnds, language),
    };

    /// <summary>Each kind and language with words only that language's text has (numbers after the mark in ar and he).</summary>
    public static TheoryData<Kind, string, string> Expected => new()
    {
        { Kind.PhoneVoiceFailure, "en", "Callers are asked to leave a message." },
        { Kind.PhoneVoiceFailure, "fr-CA", "Les appelants laissent un message." },
        { Kind.PhoneVoiceFailure, "es", "Se pide a quien llama que deje un mensaje." },
        { Kind.PhoneVoiceFailure, "de", "Anrufer werden gebeten, eine Nachricht zu hinterlassen." },
        { Kind.PhoneVoiceFailure, "ar", "الساعة \u200E14:05. يُطلب من المتصلين ترك رسالة." },
        { Kind.PhoneVoiceFailure, "he", "בשעה \u200E14:05. המתקשרים מתבקשים להשאיר הודעה." },
        { Kind.WebVoiceFailure, "en", "Visitors are asked to write in the chat instead." },
        { Kind.WebVoiceFailure, "fr-CA", "écrire dans le clavardage." },
        { Kind.WebVoiceFailure, "es", "Se pide a los visitantes que escriban en el chat." },
        { Kind.WebVoiceFailure, "de", "Besucher werden gebeten, im Chat zu schreiben." },
        { Kind.WebVoiceFailure, "ar", "الساعة \u200E14:05. يُطلب من الزوار استخدام الدردشة." },
        { Kind.WebVoiceFailure, "he", "בשעה \u200E14:05. מבקרי האתר מתבקשים לכתוב בצ'אט." },
        { Kind.WebhookDisabled, "en", "webhook hooks.drainfortin.ca was disabled after 5 days" },
        { Kind.WebhookDisabled, "fr-CA", "le webhook hooks.drainfortin.ca est désactivé après 5 jours" },
        { Kind.WebhookDisabled, "es", "webhook hooks.drainfortin.ca desactivado tras 5 días de fallos" },
        { Kind.WebhookDisabled, "de", "Webhook hooks.drainfortin.ca wurde nach 5 Tagen" },
        { Kind.WebhookDisabled, "ar", "تم تعطيل \u200Ewebhook \u200Ehooks.drainfortin.ca بعد \u200E5 أيام" },
        { Kind.WebhookDisabled, "he", "\u200Ehooks.drainfortin.ca הושבת אחרי \u200E5 ימים" },
        { Kind.PaymentFailed, "en", "Update your card before 2026-05-12" },
        { Kind.PaymentFailed, "fr-CA", "Mettez à jour votre carte avant le 2026-05-12" },
        { Kind.PaymentFailed, "es", "Actualice su tarjeta antes del 12/05/2026" },
        { Kind.PaymentFailed, "de", "Karte vor dem 12.05.2026" },
        { Kind.PaymentFailed, "ar", "يرجى تحديث بطاقتك قبل \u200E12/05/2026" },
        { Kind.PaymentFailed, "he", "יש לעדכן את כרטיס האשראי לפני \u200E12/05/2026" },
    };

    /// <summary>Words of the English texts that a text in another language must not carry.</summary>
    private static readonly string[] English = ["could not", "asked to", "disabled", "failed", "Update your card", "Re-enable", "days", "payment"];

    [Theory]
    [MemberData(nameof(Expected))]
    public void EachStaffNoticeIsWrittenInTheAlertLanguage(Kind kind, string language, string words)
    {
        var text = Text(kind, language);

        Assert.Contains(words, text);
        if (!language.StartsWith("en", StringComparison.Ordinal))
        {
            Assert.All(English, word => Assert.DoesNotContain(word, text, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public void EveryLanguageHasEveryStaffNotice()
    {
        var kinds = Enum.GetValues<Kind>();
        var covered = Expected.Select(row => ((Kind)row[0], ((string)row[1]).Split('-')[0])).ToHashSet();

        Assert.Equal(kinds.Length * SmsText.LanguageCodes.Count, covered.Count);
        Assert.All(SmsText.LanguageCodes, code => Assert.All(kinds, kind => Assert.Contains((kind, code), covered)));
    }

    [Theory]
    [InlineData("pt-BR")] // a language without texts: English, as for a lead alert
    [InlineData("xx")]
    public void ALanguageWithoutTextsGetsTheEnglishOnes(string language)
    {
        Assert.Equal("Switchboard Drain Fortin: the voice assistant could not reach its speech provider (14:05). Callers are asked to leave a message.",
            Text(Kind.PhoneVoiceFailure, language));
        Assert.Equal("Switchboard Drain Fortin: webhook hooks.drainfortin.ca was disabled after 5 days of failed deliveries. Re-enable it in Switchboard once it is fixed.",
            Text(Kind.WebhookDisabled, language));
        Assert.Equal("Switchboard Drain Fortin: your subscription payment failed. Update your card before 2026-05-12 to keep your plan.",
            Text(Kind.PaymentFailed, language));
    }

    [Theory]
    [InlineData(Kind.PhoneVoiceFailure, "en")]
    [InlineData(Kind.PhoneVoiceFailure, "fr-CA")]
    [InlineData(Kind.PhoneVoiceFailure, "es-MX")]
    [InlineData(Kind.PhoneVoiceFailure, "de-DE")]
    [InlineData(Kind.WebVoiceFailure, "en")]
    [InlineData(Kind.WebVoiceFailure, "fr-CA")]
    [InlineData(Kind.WebVoiceFailure, "es-MX")]
    [InlineData(Kind.WebVoiceFailure, "de-DE")]
    [InlineData(Kind.WebhookDisabled, "en")]
    [InlineData(Kind.WebhookDisabled, "fr-CA")]
    [InlineData(Kind.WebhookDisabled, "de-DE")]
    [InlineData(Kind.PaymentFailed, "en")]
    [InlineData(Kind.PaymentFailed, "fr-CA")]
    [InlineData(Kind.PaymentFailed, "es-MX")]
    [InlineData(Kind.PaymentFailed, "de-DE")]
    public void ALatinNoticeFitsOneGsmSevenSegment(Kind kind, string language)
    {
        var text = Text(kind, language);

        var count = SmsSegments.Count(text);
        Assert.True((count.Encoding, count.Segments) == ("GSM-7", 1), $"{count}: {text}");
        Assert.DoesNotContain(Lrm, text);
    }

    [Fact]
    public void TheSpanishWebhookNoticeKeepsItsAccentsInTwoSegments()
    {
        var text = Text(Kind.WebhookDisabled, "es-MX");

        Assert.Equal("Switchboard Drain Fortin: webhook hooks.drainfortin.ca desactivado tras 5 días de fallos. " +
            "Reactívelo en Switchboard una vez resuelto.", text);
        Assert.Equal(new SmsCount("UCS-2", text.Length, 2), SmsSegments.Count(text));
    }

    [Theory]
    [InlineData(Kind.PhoneVoiceFailure, "ar")]
    [InlineData(Kind.PhoneVoiceFailure, "he-IL")]
    [InlineData(Kind.WebVoiceFailure, "ar")]
    [InlineData(Kind.WebVoiceFailure, "he-IL")]
    [InlineData(Kind.WebhookDisabled, "ar-EG")]
    [InlineData(Kind.WebhookDisabled, "he")]
    [InlineData(Kind.PaymentFailed, "ar")]
    [InlineData(Kind.PaymentFailed, "he-IL")]
    public void ARightToLeftNoticeOpensInItsScriptAndMarksEveryLeftToRightRun(Kind kind, string language)
    {
        var business = language.StartsWith("ar", StringComparison.Ordinal) ? "كهرباء حداد" : "חשמל כהן";

        var text = Text(kind, language, business);

        // Phones lay a text out in the direction of its first strong letter: an Arabic or Hebrew one.
        Assert.True(text[0] is >= '\u0590' and <= '\u06FF', text);
        var runs = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var startsRun = char.IsAsciiLetterOrDigit(text[i]) && (i == 0 || !(char.IsAsciiLetterOrDigit(text[i - 1]) || text[i - 1] is '.' or ':' or '/'));
            if (startsRun)
            {
                runs++;
                Assert.True(i > 0 && text[i - 1] == Lrm, $"no left-to-right mark before \"{text[i..]}\"");
            }
        }
        Assert.InRange(runs, 2, 4); // the brand and the time or date; or the brand, "webhook", the host and the days
        Assert.Equal("UCS-2", SmsSegments.Count(text).Encoding);
        Assert.InRange(SmsSegments.Count(text).Segments, 1, 2);
    }

    [Theory]
    [InlineData("en", "after 2.5 days")]
    [InlineData("fr-CA", "après 2,5 jours")]
    [InlineData("de", "nach 2,5 Tagen")]
    [InlineData("he", "אחרי \u200E2.5 ימים")]
    public void AFractionOfADayIsWrittenAsTheLanguageWritesNumbers(string language, string words) =>
        Assert.Contains(words, Text(Kind.WebhookDisabled, language, days: 2.5));
}
