using System.Net;
using Switchboard.Platform.Http;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// A query parameter given twice on <c>/api/v1</c> is refused (400 <c>REPEATED_PARAMETER</c>) instead of binding as its
/// values joined by a comma: <c>minDuration=1&amp;minDuration=2</c> was read as <c>"1,2"</c>, which a <c>double</c> parses
/// as 12, and the list answered 200 for a filter the caller never asked for (found by <c>HostileClientTests</c>).
/// </summary>
[Trait("Category", "Database")]
public sealed class RepeatedQueryParameterTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Theory]
    [InlineData("/api/v1/calls?minDuration=1&minDuration=2", "minDuration")]
    [InlineData("/api/v1/calls/export.csv?maxDuration=1&maxDuration=2", "maxDuration")]
    [InlineData("/api/v1/audit?action=keys.&action=team.", "action")]
    public async Task ARepeatedQueryParameterIsRefusedNamingIt(string url, string name)
    {
        var tenant = await factory.SignUpAsync();
        var response = await tenant.Client.GetAsync(url);
        var body = await response.JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(StorableTextGuardMiddleware.RepeatedParameterCode, body["error"]!["code"]!.GetValue<string>());
        Assert.Equal(StorableTextGuardMiddleware.RepeatedParameterProblem, body["error"]!["details"]![name]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/api/v1/calls?minDuration=1,5", "minDuration")]
    [InlineData("/api/v1/calls/export.csv?maxDuration=1,000", "maxDuration")]
    public async Task ADurationWrittenWithACommaIsRefusedNotReadAsAnotherNumber(string url, string name)
    {
        // ASP.NET Core binds a double with thousands separators allowed: "1,5" (a French decimal comma) was 15 seconds.
        var tenant = await factory.SignUpAsync();
        var body = await (await tenant.Client.GetAsync(url)).JsonAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("INVALID_FILTER", body["error"]!["code"]!.GetValue<string>());
        Assert.NotNull(body["error"]!["details"]![name]);
        await (await tenant.Client.GetAsync("/api/v1/calls?minDuration=1.5")).JsonAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AParameterGivenOnceStillBinds()
    {
        var tenant = await factory.SignUpAsync();
        await (await tenant.Client.GetAsync("/api/v1/calls?minDuration=1&maxDuration=2")).JsonAsync(HttpStatusCode.OK);
    }
}
