using Switchboard.Outbound;
using Switchboard.Tenancy;

namespace Switchboard.Tests.Outbound;

/// <summary>The calling-window rules (CRTC, TCPA), the zone from the number, the tenant's hours, and the next allowed time.</summary>
public sealed class CallingWindowsTests
{
    private static DateTimeOffset Local(int day, int hour, int minute, int offset) => new(2026, 11, day, hour, minute, 0, TimeSpan.FromHours(offset));

    [Theory]
    [InlineData(18, 9, 0, true)]    // Wednesday 9:00
    [InlineData(18, 8, 59, false)]
    [InlineData(18, 21, 29, true)]
    [InlineData(18, 21, 30, false)] // CRTC: weekdays until 21:30
    [InlineData(21, 9, 30, false)]  // Saturday before 10:00
    [InlineData(21, 10, 0, true)]
    [InlineData(22, 18, 0, false)]  // Sunday from 18:00
    public void CanadianNumbersFollowTheCrtcWindowInTheirOwnZone(int day, int hour, int minute, bool allowed)
    {
        var decision = CallingWindows.Check("+15145550123", "America/Vancouver", null, Local(day, hour, minute, -5));
        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal("crtc", decision.Rule);
        Assert.Equal("America/Toronto", decision.TimeZone); // from the 514 area code, not the tenant's zone
    }

    [Fact]
    public void UsNumbersFollowTheTcpaWindowEveryDay()
    {
        // Saturday 8:30 in New York: TCPA allows it (the CRTC would not).
        var ok = CallingWindows.Check("+12125550123", "America/Toronto", null, Local(21, 8, 30, -5));
        Assert.True(ok.Allowed);
        Assert.Equal("tcpa", ok.Rule);
        var late = CallingWindows.Check("+12125550123", "America/Toronto", null, Local(18, 21, 0, -5));
        Assert.False(late.Allowed);
        Assert.Equal(Local(19, 8, 0, -5), late.NextAllowedAt);
    }

    [Fact]
    public void AHangUpAt22InMontrealMayBeCalledBackAt9NextMorning()
    {
        var decision = CallingWindows.Check("+15145550123", "America/Toronto", BusinessHours.Default, Local(18, 22, 0, -5));
        Assert.False(decision.Allowed);
        Assert.Equal(OutboundRefusalReasons.OutsideWindow, decision.Reason);
        Assert.Equal(Local(19, 9, 0, -5), decision.NextAllowedAt);
    }

    [Fact]
    public void TheStricterOfTheTenantsHoursAndTheLawApplies()
    {
        // Wednesday 18:00: the law allows it, the tenant closes at 17:00 → Thursday 9:00 (the law opens after the tenant's 8:00).
        var closed = CallingWindows.Check("+15145550123", "America/Toronto", BusinessHours.Default, Local(18, 18, 0, -5));
        Assert.False(closed.Allowed);
        Assert.Contains("business hours", closed.Detail);
        Assert.Equal(Local(19, 9, 0, -5), closed.NextAllowedAt);
        // Friday 17:30 → Monday 9:00 (the tenant is closed on weekends).
        Assert.Equal(Local(23, 9, 0, -5), CallingWindows.Check("+15145550123", "America/Toronto", BusinessHours.Default, Local(20, 17, 30, -5)).NextAllowedAt);
    }

    [Fact]
    public void AVancouverNumberIsCheckedInVancouverTime()
    {
        // 10:00 in Montréal is 7:00 in Vancouver: refused until 9:00 there (17:00 UTC), inside the tenant's hours (8–17 Montréal).
        var decision = CallingWindows.Check("+16045550123", "America/Toronto", BusinessHours.Default, Local(18, 10, 0, -5));
        Assert.False(decision.Allowed);
        Assert.Equal("America/Vancouver", decision.TimeZone);
        Assert.Equal(new DateTimeOffset(2026, 11, 18, 17, 0, 0, TimeSpan.Zero), decision.NextAllowedAt);
    }

    [Theory]
    [InlineData("Non merci, ne m'appelez plus.")]
    [InlineData("NE M’APPELEZ PLUS s'il vous plaît")]
    [InlineData("Arrêtez de m'appeler!")]
    [InlineData("retirez-moi de votre liste")]
    [InlineData("Please don't call me again.")]
    [InlineData("stop calling me")]
    [InlineData("Take me off your list")]
    [InlineData("put me on your do not call list")]
    public void ACalleesRequestNotToBeCalledIsRecognised(string words) => Assert.NotNull(DoNotCallPhrases.Find(words));

    [Theory]
    [InlineData("Appelez-moi plus tard, vers 15 h.")]
    [InlineData("Call me again tomorrow please.")]
    [InlineData("Mon sous-sol est inondé.")]
    [InlineData(null)]
    public void OrdinaryWordsAreNotADoNotCallRequest(string? words) => Assert.Null(DoNotCallPhrases.Find(words));
}
