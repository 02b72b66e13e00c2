using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Platform;

/// <summary>Phone numbers through libphonenumber: read in the tenant's region, stored in E.164, found in every written form.</summary>
public sealed class PhonesTests
{
    [Theory]
    [InlineData("(514) 555-0199", "CA", "+15145550199")]
    [InlineData("514.555.0199", "CA", "+15145550199")]
    [InlineData("1 514 555 0199", "CA", "+15145550199")]
    [InlineData("+1 (514) 555-0199", "FR", "+15145550199")]
    [InlineData("01 42 68 53 00", "FR", "+33142685300")]
    [InlineData("00 1 514 555 0199", "FR", "+15145550199")]
    public void NumbersWrittenAsPeopleWriteThemBecomeE164InTheTenantsRegion(string written, string region, string e164) =>
        Assert.Equal(e164, Phones.ToE164(written, region));

    [Theory]
    [InlineData("(514) 555-0199", "CA", "+15145550199")]
    [InlineData("+1 456 555 0142", "CA", "+14565550142")]   // unassigned area code: possible, so kept (see SettingsNumberToE164)
    [InlineData("06 12 34 56 78", "FR", "+33612345678")]
    [InlineData("+44 20 7946 0958", "CA", "+442079460958")]
    public void SettingsNumbersArePossibleNumbersInTheTenantsRegion(string written, string region, string e164) =>
        Assert.Equal(e164, Phones.SettingsNumberToE164(written, region));

    [Theory]
    [InlineData("555-0199", "CA")]             // no area code
    [InlineData("514 555 01999", "CA")]        // a digit too many
    [InlineData("plombier", "CA")]
    [InlineData("06 12 34 56", "FR")]          // too short for France
    [InlineData("", "CA")]
    public void SettingsNumbersOfTheWrongLengthAreRefused(string written, string region) =>
        Assert.Null(Phones.SettingsNumberToE164(written, region));

    [Theory]
    [InlineData("555-0199")]          // no area code
    [InlineData("(123) 555-0199")]    // area codes never start with 1
    [InlineData("call me maybe")]
    [InlineData("")]
    public void WhatIsNotAValidNumberIsRefused(string written) => Assert.Null(Phones.ToE164(written, "CA"));

    [Fact]
    public void ACapturedNumberThatIsNotValidIsKeptAsSaid() => Assert.Equal("poste 22", Phones.Normalize(" poste 22 ", "CA"));

    [Theory]
    [InlineData("fr-CA", "CA")]
    [InlineData("en-US", "US")]
    [InlineData("fr-FR", "FR")]
    [InlineData("fr", "CA")]
    [InlineData(null, "CA")]
    public void TheRegionComesFromTheTenantsLocale(string? locale, string region) => Assert.Equal(region, Phones.RegionOf(locale));

    [Fact]
    public void ANumberIsSearchedInItsNationalAndInternationalForms()
    {
        var forms = Phones.Forms("+15145550199");
        foreach (var expected in new[] { "+15145550199", "15145550199", "5145550199", "(514) 555-0199", "+1 514-555-0199", "514-555-0199", "514 555 0199", "514.555.0199" })
        {
            Assert.Contains(expected, forms);
        }
    }

    [Fact]
    public void TheModelsCapturedCallbackNumberIsStoredInE164()
    {
        var captured = new LeadDraft("Marie", "(514) 555-0199", null, "Fuite", "routine", "tool");
        var lead = LeadExtractor.FromConversation(null, captured, "allo", null, "+15145559876", UrgencyRules.Plumbing, "CA");
        Assert.Equal("+15145550199", lead!.Phone);
    }
}

/// <summary>Erasure finds a caller's number written in the national form inside what other callers said.</summary>
[Trait("Category", "Database")]
public sealed class PhoneErasureTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task ErasureFindsTheNumberWrittenInItsNationalForm()
    {
        var tenant = await factory.CreateTenantAsync();
        var mentioning = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Rappel demandé.",
            "Mon fils va vous rappeler, son cell c'est le (514) 555-0199."));
        var unrelated = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Soumission.",
            "Je voudrais une soumission pour un chauffe-eau, rappelez au 514 555 0123."));
        Assert.Equal(HttpStatusCode.OK, mentioning.StatusCode);
        Assert.Equal(HttpStatusCode.OK, unrelated.StatusCode);

        var erased = await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = "+15145550199" });

        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        var left = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Select(t => t.Text).ToListAsync());
        Assert.DoesNotContain(left, t => t.Contains("555-0199", StringComparison.Ordinal));
        Assert.Contains(left, t => t.Contains("514 555 0123", StringComparison.Ordinal));
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync()));
    }
}
