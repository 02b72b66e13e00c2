using System.Text;
using Switchboard.Platform.Http;

namespace Switchboard.Tests.Platform;

/// <summary>The fast path of <see cref="TolerantJson.Sanitize"/>: which escapes send a body through the full rewrite.</summary>
public sealed class TolerantJsonTests
{
    [Theory]
    [InlineData("""{"t":"Bonjour, c\u00e9dule"}""")]
    [InlineData("""{"t":"l\u0027eau","u":"\u20ac","v":"\uFFFD"}""")]
    [InlineData("""{"t":"no escapes at all: é"}""")]
    [InlineData("""{"t":"\uD7FF\uE000"}""")] // either side of the surrogates
    public void EscapesOfOrdinaryCharactersNeedNoRewrite(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.False(TolerantJson.HasSuspectEscape(bytes));
        Assert.Null(TolerantJson.Sanitize(bytes, 64, out var changed));
        Assert.Empty(changed);
    }

    [Theory]
    [InlineData("""{"t":"\u0000"}""", "$.t")]
    [InlineData("""{"t":"ok","u":"lone \ud800 here"}""", "$.u")]
    [InlineData("""{"t":"x","a":["y","\uDFFF"]}""", "$.a[1]")]
    [InlineData("""{"\udc00":"value"}""", "$.\uFFFD")]
    public void EscapesOfNulOrALoneSurrogateAreRewritten(string json, string path)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.True(TolerantJson.HasSuspectEscape(bytes));
        var sanitized = TolerantJson.Sanitize(bytes, 64, out var changed);
        Assert.NotNull(sanitized);
        Assert.Equal([path], changed);
        Assert.DoesNotContain("\\u0000", Encoding.UTF8.GetString(sanitized!), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void APairedSurrogateTakesTheFullPassAndIsKept()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"t":"\ud83d\ude00"}""");
        Assert.True(TolerantJson.HasSuspectEscape(bytes));
        Assert.Null(TolerantJson.Sanitize(bytes, 64, out var changed));
        Assert.Empty(changed);
    }

    [Fact]
    public void AnEscapedBackslashBeforeUIsTextAndKept()
    {
        // "\\u0000" is a backslash then the letters u0000: counted as suspect (conservative), and the full pass keeps it.
        var bytes = Encoding.UTF8.GetBytes("""{"t":"C:\\u0000"}""");
        Assert.True(TolerantJson.HasSuspectEscape(bytes));
        Assert.Null(TolerantJson.Sanitize(bytes, 64, out _));
    }

    [Fact]
    public void ASurrogateEscapeAfterOrdinaryOnesIsFound()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"a":"\u00e9\u00e8","b":"\u0027","c":"\uD800"}""");
        Assert.True(TolerantJson.HasSuspectEscape(bytes));
        Assert.NotNull(TolerantJson.Sanitize(bytes, 64, out var changed));
        Assert.Equal(["$.c"], changed);
    }
}
