using Switchboard.Platform;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The time zone rule (<see cref="IanaTimeZones"/>) over a tz table given here, so the rule is checked whatever tzdata the
/// host has packed: a zone is kept, a link a country is listed under is kept, another link becomes its zone, every name
/// of UTC is <c>UTC</c>, and the leap-second, POSIX and System V copies are refused with or without a table.
/// </summary>
public sealed class IanaTimeZonesTests
{
    private static readonly IanaTimeZones.Table Table = IanaTimeZones.Table.Parse(
    [
        "# version test",
        "Z America/Toronto -5:17:32 - LMT 1895",
        "-5 C E%sT",
        "Z America/New_York -4:56:2 - LMT 1883 N 18 17u",
        "Z Europe/Berlin 0:53:28 - LMT 1893 Ap",
        "Z Etc/UTC 0 - UTC",
        "L America/Toronto America/Montreal",
        "L America/New_York US/Eastern",
        "L US/Eastern Old/Chained",
        "L Europe/Berlin Europe/Oslo",
        "L Europe/Berlin Arctic/Longyearbyen",
        "L Etc/UTC UTC",
        "L Etc/UTC Etc/Zulu",
    ], new HashSet<string>(StringComparer.Ordinal) { "America/Toronto", "America/New_York", "Europe/Berlin", "Europe/Oslo" });

    [Theory]
    [InlineData("America/Toronto", "America/Toronto")]
    [InlineData("AMERICA/TORONTO", "America/Toronto")]
    [InlineData("America/Montreal", "America/Toronto")]
    [InlineData("US/Eastern", "America/New_York")]
    [InlineData("Old/Chained", "America/New_York")]
    [InlineData("Europe/Oslo", "Europe/Oslo")] // listed for Norway in zone.tab: kept, not shown as Berlin
    [InlineData("Arctic/Longyearbyen", "Europe/Berlin")]
    [InlineData("UTC", "UTC")]
    [InlineData("Etc/UTC", "UTC")]
    [InlineData("Etc/Zulu", "UTC")]
    public void AZoneOrALinkIsStoredAsItsCanonicalId(string value, string canonical) =>
        Assert.Equal(canonical, IanaTimeZones.Canonicalize(value, Table));

    [Theory]
    [InlineData("right/America/Toronto")]
    [InlineData("posix/America/Toronto")]
    [InlineData("SystemV/EST5EDT")]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("Eastern Standard Time")]
    [InlineData("Zulu")] // no area: refused as EST5EDT or Japan are, whatever they link to
    [InlineData("")]
    [InlineData(null)]
    public void ACopyAnUnknownNameOrAWindowsIdIsRefused(string? value)
    {
        Assert.Null(IanaTimeZones.Canonicalize(value, Table));
        Assert.Null(IanaTimeZones.Canonicalize(value, table: null));
    }

    [Fact]
    public void WithoutATableAZoneTheRuntimeKnowsIsKeptAsGiven()
    {
        Assert.Equal("America/Toronto", IanaTimeZones.Canonicalize("America/Toronto", table: null));
        Assert.Equal("UTC", IanaTimeZones.Canonicalize("Etc/UTC", table: null));
    }
}
