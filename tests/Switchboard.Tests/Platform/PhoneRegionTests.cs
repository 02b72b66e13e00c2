using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Alerts;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;
using Switchboard.Twilio;

namespace Switchboard.Tests.Platform;

/// <summary>Every phone number is read in the tenant's region (libphonenumber), not as North American: a French and a Québec tenant.</summary>
public sealed class PhoneRegionUnitTests
{
    [Fact]
    public void AFrenchNumberIsSearchedInItsNationalAndInternationalForms()
    {
        var forms = Phones.Forms("+33612345678");
        foreach (var expected in new[] { "+33612345678", "33612345678", "612345678", "06 12 34 56 78", "0612345678", "06.12.34.56.78", "06-12-34-56-78", "+33 6 12 34 56 78", "6 12 34 56 78" })
        {
            Assert.Contains(expected, forms);
        }
    }

    [Theory]
    [InlineData("rappelez-moi au 06 12 34 56 78 svp", "FR", "+33612345678")]
    [InlineData("mon numéro : +33 6 12 34 56 78", "CA", "+33612345678")]
    [InlineData("rappelez-moi au (514) 555-0142 svp", "CA", "+15145550142")]
    [InlineData("1-514-555-0142", "CA", "+15145550142")]
    [InlineData("call +32 470 12 34 56", "FR", "+32470123456")]
    public void ANumberInFreeTextIsFoundInTheTenantsRegion(string text, string region, string e164)
    {
        Assert.Equal(e164, Phones.FindInText(text, region));
        Assert.Equal(e164, OfflineReceptionist.FindPhone(text, region));
    }

    [Theory]
    [InlineData("rappelez-moi au 06 12 34 56 78", "CA")]   // not a number in Québec
    [InlineData("il y a 3 pouces d'eau depuis 2 heures", "FR")]
    [InlineData("", "FR")]
    public void TextWithoutANumberOfTheRegionFindsNone(string text, string region) => Assert.Null(Phones.FindInText(text, region));

    [Theory]
    [InlineData("06 12 34 56 78", "fr-FR", "+33612345678")]
    [InlineData("01 42 68 53 00", "fr-FR", "+33142685300")]
    [InlineData("(514) 555-0199", "fr-CA", "+15145550199")]
    [InlineData("514-555-0199", "fr-CA", "+15145550199")]
    [InlineData("+1 514 555 0199", "fr-FR", "+15145550199")]
    public void TheModelsCapturedNumberIsStoredInE164InTheTenantsRegion(string said, string locale, string e164)
    {
        var captured = new LeadDraft("Marie", said, null, "Fuite", "routine", "tool");
        var lead = LeadExtractor.FromConversation(null, captured, "allo", null, "+15145559876", UrgencyRules.Plumbing, Phones.RegionOf(locale));
        Assert.Equal(e164, lead!.Phone);
    }

    [Theory]
    [InlineData("01 42 68 53 00", "FR", "+33142685300")]
    [InlineData("(514) 555-0100", "CA", "+15145550100")]
    [InlineData("MG0123456789abcdef0123456789abcdef", "FR", "MG0123456789abcdef0123456789abcdef")]
    public void AnSmsSenderIsReadInTheTenantsRegion(string written, string region, string sender) =>
        Assert.Equal(sender, SmsSender.Normalize(written, region));

    [Theory]
    [InlineData("(514) 555-0100", "FR")]
    [InlineData("06 12 34 56 78", "CA")]
    [InlineData("MG0123", "CA")]
    public void AnSmsSenderOfTheWrongCountryIsRefused(string written, string region) => Assert.Null(SmsSender.Normalize(written, region));

    [Theory]
    [InlineData("+33612345678", "FR")]
    [InlineData("+15145550199", "CA")]
    [InlineData("+12024561111", "US")]
    [InlineData("not a number", null)]
    public void ANumbersCountryComesFromLibphonenumber(string e164, string? region) => Assert.Equal(region, Phones.RegionOfNumber(e164));

    [Theory]
    [InlineData("+33612345678", "FR")]
    [InlineData("+32470123456", "BE")]
    [InlineData("+15145550199", null)] // +1: the language is not the number's to say
    public void TheCallersCountryForTheGreetingLanguageComesFromLibphonenumber(string from, string? country) =>
        Assert.Equal(country, VoicePrompts.CountryOf(from));
}

/// <summary>Phone numbers through the API and the database for a French (+33) and a Québec tenant.</summary>
[Trait("Category", "Database")]
public sealed class PhoneRegionTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private Task<TestTenant> FrenchTenantAsync() =>
        factory.CreateTenantAsync("Plomberie Lyonnaise", t => { t.Locale = "fr-FR"; t.TimeZone = "Europe/Paris"; }, withTwilio: true);

    private Task<TestTenant> QuebecTenantAsync() => factory.CreateTenantAsync("Drain Fortin", t => t.Locale = "fr-CA", withTwilio: true);

    private static string ReportWithCapturedPhone(string phone, string customer)
    {
        var report = JsonNode.Parse(VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Fuite sous l'évier.", "J'ai une fuite sous l'évier, rappelez-moi."))!;
        report["message"]!["analysis"]!["structuredData"] = new JsonObject { ["name"] = "Camille Martin", ["phone"] = phone, ["problem"] = "Fuite sous l'évier" };
        report["message"]!["call"]!["customer"]!["number"] = customer;
        return report.ToJsonString();
    }

    [Fact]
    public async Task AFrenchTenantsLeadKeepsTheNumberTheModelCapturedInE164()
    {
        var tenant = await FrenchTenantAsync();
        var response = await factory.PostVapiAsync(tenant, ReportWithCapturedPhone("06 12 34 56 78", "+33142685300"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.AsNoTracking().SingleAsync());
        Assert.Equal("+33612345678", lead.Phone);
    }

    [Fact]
    public async Task AQuebecTenantsLeadKeepsTheNumberTheModelCapturedInE164()
    {
        var tenant = await QuebecTenantAsync();
        var response = await factory.PostVapiAsync(tenant, ReportWithCapturedPhone("(514) 555-0199", "+15145559876"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.AsNoTracking().SingleAsync());
        Assert.Equal("+15145550199", lead.Phone);
    }

    [Fact]
    public async Task ErasureFindsAQuebecCallersNumberInEveryWrittenForm()
    {
        var tenant = await QuebecTenantAsync();
        foreach (var written in new[] { "(514) 555-0199", "514-555-0199", "+1 514 555 0199", "15145550199" })
        {
            var posted = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Rappel.", $"Rappelez mon fils au {written}."));
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }
        var unrelated = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Soumission.", "Une soumission, rappelez au 514 555 0123."));
        Assert.Equal(HttpStatusCode.OK, unrelated.StatusCode);

        // Asked for as the office writes it: read in the tenant's region.
        var erased = await (await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = "(514) 555-0199" })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(4, erased["calls"]!.GetValue<int>());
        var left = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Select(t => t.Text).ToListAsync());
        Assert.DoesNotContain(left, t => t.Contains("555-0199", StringComparison.Ordinal) || t.Contains("555 0199", StringComparison.Ordinal) || t.Contains("5550199", StringComparison.Ordinal));
        Assert.Contains(left, t => t.Contains("514 555 0123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ErasureFindsAFrenchCallersNumberInNationalAndInternationalForms()
    {
        var tenant = await FrenchTenantAsync();
        foreach (var written in new[] { "06 12 34 56 78", "+33 6 12 34 56 78", "06.12.34.56.78", "0612345678" })
        {
            var posted = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Rappel.", $"Mon portable, c'est le {written}."));
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }
        var unrelated = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Devis.", "Un devis, rappelez au 06 98 76 54 32."));
        Assert.Equal(HttpStatusCode.OK, unrelated.StatusCode);

        // A French office types the national form; a North American reading would refuse it.
        var erased = await (await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = "06 12 34 56 78" })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(4, erased["calls"]!.GetValue<int>());
        var left = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Select(t => t.Text).ToListAsync());
        Assert.DoesNotContain(left, t => t.Contains("12 34 56 78", StringComparison.Ordinal) || t.Contains("12.34.56.78", StringComparison.Ordinal) || t.Contains("612345678", StringComparison.Ordinal));
        Assert.Contains(left, t => t.Contains("06 98 76 54 32", StringComparison.Ordinal));

        // A number that is not French, written nationally, is refused rather than read as North American.
        var refused = await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = "(514) 555-0199" });
        Assert.Equal("VALIDATION_FAILED", await refused.ErrorCodeAsync());
    }

    [Fact]
    public async Task AnSmsSenderIsStoredInE164ReadInEachTenantsRegion()
    {
        var french = await FrenchTenantAsync();
        var saved = await (await factory.ApiClient(french).PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken, smsSender = "01 42 68 53 00" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("+33142685300", saved["smsSender"]!.GetValue<string>());

        var quebec = await QuebecTenantAsync();
        var savedQc = await (await factory.ApiClient(quebec).PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken, smsSender = "(514) 555-0100" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("+15145550100", savedQc["smsSender"]!.GetValue<string>());

        // The Québec number written nationally is not a French number.
        var refused = await factory.ApiClient(french).PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken, smsSender = "(514) 555-0100" });
        Assert.Equal("VALIDATION_FAILED", await refused.ErrorCodeAsync());
    }

    [Fact]
    public async Task AnOlderSenderStoredAsTypedIsResolvedInTheTenantsRegion()
    {
        var tenant = await factory.CreateTenantAsync("Plomberie Lyonnaise", t => { t.Locale = "fr-FR"; t.TwilioFromNumber = "01 42 68 53 00"; }, withTwilio: false);
        using var scope = factory.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
        var row = await db.Tenants.IgnoreQueryFilters().AsNoTracking().SingleAsync(t => t.Id == tenant.Id);

        var resolved = await scope.ServiceProvider.GetRequiredService<SmsSenderResolver>().ResolveAsync(row, CancellationToken.None);

        Assert.Equal(("+33142685300", SmsSenderResolver.Explicit), (resolved.Sender?.Value, resolved.Source));
    }

    [Fact]
    public async Task AFrenchTenantFindsACallByTheCallersNumberWrittenNationally()
    {
        var tenant = await FrenchTenantAsync();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, ReportWithCapturedPhone("06 12 34 56 78", "+33612345678"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, ReportWithCapturedPhone("06 98 76 54 32", "+33698765432"))).StatusCode);
        var api = factory.ApiClient(tenant);

        var national = await (await api.GetAsync("/api/v1/calls?number=" + Uri.EscapeDataString("06 12 34 56 78"))).JsonAsync(HttpStatusCode.OK);
        var international = await (await api.GetAsync("/api/v1/calls?number=" + Uri.EscapeDataString("+33 6 12 34 56 78"))).JsonAsync(HttpStatusCode.OK);
        var partial = await (await api.GetAsync("/api/v1/calls?number=5432")).JsonAsync(HttpStatusCode.OK);

        Assert.Equal("+33612345678", Assert.Single(national["items"]!.AsArray())!["customerNumber"]!.GetValue<string>());
        Assert.Equal("+33612345678", Assert.Single(international["items"]!.AsArray())!["customerNumber"]!.GetValue<string>());
        Assert.Equal("+33698765432", Assert.Single(partial["items"]!.AsArray())!["customerNumber"]!.GetValue<string>());
    }
}
