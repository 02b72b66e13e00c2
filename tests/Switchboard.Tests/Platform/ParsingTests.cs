using System.Text.Json;
using Switchboard.Platform;
using Switchboard.Tenancy;
using Switchboard.Twilio;
using Switchboard.Vapi;

namespace Switchboard.Tests.Platform;

public sealed class ParsingTests
{
    [Theory]
    [InlineData("\"2024-07-25T18:53:47.736Z\"", "2024-07-25T18:53:47.7360000+00:00")]
    [InlineData("1749546450909", "2025-06-10T09:07:30.9090000+00:00")]
    [InlineData("\"1749546450909\"", "2025-06-10T09:07:30.9090000+00:00")]
    [InlineData("1722115418016.999", "2024-07-27T21:23:38.0169990+00:00")]
    public void VapiTimestampsParseInBothForms(string json, string expected)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ((JsonElement?)doc.RootElement).Time());
    }

    [Theory]
    [InlineData("""{"arguments":{"city":"Laval"}}""")]
    [InlineData("""{"arguments":"{\"city\":\"Laval\"}"}""")]
    [InlineData("""{"parameters":{"city":"Laval"}}""")]
    public void ToolArgumentsAreReadAsObjectOrString(string json)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("Laval", ((JsonElement?)doc.RootElement).Arguments().GetProperty("city").GetString());
    }

    [Fact]
    public void BrokenToolArgumentsAreEmpty()
    {
        using var doc = JsonDocument.Parse("""{"arguments":"{not json"}""");
        Assert.Equal(JsonValueKind.Object, ((JsonElement?)doc.RootElement).Arguments().ValueKind);
    }

    [Fact]
    public void VapiDocExamplesBecomeStrictJson()
    {
        var legacy = Jsonc.Parse(Support.Fixtures.ReadText("vapi/end-of-call-report.legacy-doc.jsonc"));
        Assert.Equal("end-of-call-report", legacy["message"]!["type"]!.GetValue<string>());
        Assert.Equal(2, legacy["message"]!["messages"]!.AsArray().Count);
    }

    [Fact]
    public void BusinessHoursFollowTheTenantsZoneAndHolidays()
    {
        var hours = new BusinessHours
        {
            Weekly = new() { [DayOfWeek.Monday] = ["08:00-12:00", "13:00-17:00"] },
            Holidays = ["2026-11-30"],
        };
        var mondayNoonThirty = new DateTimeOffset(2026, 11, 23, 17, 30, 0, TimeSpan.Zero); // 12:30 EST
        var mondayNine = new DateTimeOffset(2026, 11, 23, 14, 0, 0, TimeSpan.Zero);        // 09:00 EST

        Assert.True(BusinessHoursCalculator.IsOpen(hours, "America/Toronto", mondayNine));
        Assert.False(BusinessHoursCalculator.IsOpen(hours, "America/Toronto", mondayNoonThirty));
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 18, 0, 0, TimeSpan.Zero), BusinessHoursCalculator.NextOpening(hours, "America/Toronto", mondayNoonThirty));
        // The next Monday is a holiday: the opening after Monday 17:00 is two weeks later.
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 13, 0, 0, TimeSpan.Zero), BusinessHoursCalculator.NextOpening(hours, "America/Toronto", mondayNine.AddHours(9)));
    }

    [Fact]
    public void TwilioDatesParse()
    {
        Assert.Equal(new DateTimeOffset(2015, 7, 30, 20, 12, 31, TimeSpan.Zero), TwilioRestClient.ParseRfc2822("Thu, 30 Jul 2015 20:12:31 +0000"));
        Assert.Equal(new DateTimeOffset(2015, 7, 31, 0, 12, 31, TimeSpan.Zero), TwilioRestClient.ParseRfc2822("Thu, 30 Jul 2015 20:12:31 -0400"));
        Assert.Null(TwilioRestClient.ParseRfc2822("yesterday"));
    }

    [Fact]
    public void VapiSignatureTimestampsAcceptSecondsAndMilliseconds()
    {
        Assert.True(VapiSignatureVerifier.TryParseTimestamp("1749546450", out var s));
        Assert.True(VapiSignatureVerifier.TryParseTimestamp("1749546450909", out var ms));
        Assert.Equal(s, ms.AddMilliseconds(-909));
        Assert.False(VapiSignatureVerifier.TryParseTimestamp("-1", out _));
    }
}
