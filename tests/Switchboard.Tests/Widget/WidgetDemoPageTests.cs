using Switchboard.Widget;

namespace Switchboard.Tests.Widget;

/// <summary>The Development demo page speaks the visitor's language (and so does the widget, which reads its &lt;html lang&gt;).</summary>
public sealed class WidgetDemoPageTests
{
    [Theory]
    [InlineData(null, "ar-EG,ar;q=0.9,en;q=0.8", "ar")]
    [InlineData(null, "en-CA,en;q=0.9", "en")]
    [InlineData(null, "fr-CA,fr;q=0.9,en;q=0.8", "fr")]
    [InlineData(null, "ja-JP,ja;q=0.9,de;q=0.5", "de")]
    [InlineData(null, "en;q=0.5,he;q=0.9", "he")]
    [InlineData(null, "ja-JP", "en")]
    [InlineData(null, "fr;q=0", "en")]
    [InlineData(null, "", "en")]
    [InlineData(null, null, "en")]
    [InlineData(null, ";;;q=", "en")]
    [InlineData("es", "fr-CA", "es")]
    [InlineData("xx", "he-IL", "he")]
    [InlineData("<script>", "fr-CA", "fr")]
    public void TheLanguageIsTheAskedOneElseTheBrowsersElseEnglish(string? lang, string? acceptLanguage, string expected) =>
        Assert.Equal(expected, WidgetDemoPage.Language(lang, acceptLanguage));

    [Fact]
    public void AnEnglishVisitorGetsAnEnglishPageNotAFrenchOne()
    {
        var html = WidgetDemoPage.Html(WidgetDemoPage.Language(null, "en-US,en;q=0.9"), "pk_live_demo");
        Assert.Contains("<html lang=\"en\">", html);
        Assert.Contains("the chat button is in the bottom corner", html);
        Assert.DoesNotContain("sous-sol", html);
    }

    [Fact]
    public void AnArabicVisitorGetsARightToLeftArabicPage()
    {
        var html = WidgetDemoPage.Html(WidgetDemoPage.Language(null, "ar"), "pk_live_\"demo");
        Assert.Contains("<html lang=\"ar\" dir=\"rtl\">", html);
        Assert.Contains("زر الدردشة", html);
        Assert.Contains("data-key=\"pk_live_&quot;demo\"", html);
        Assert.DoesNotContain("Demo page", html);
    }

    [Fact]
    public void ThePageNamesAnInlineIconSoTheBrowserDoesNotAskForAMissingFavicon()
    {
        var html = WidgetDemoPage.Html("fr", "pk_live_demo");
        Assert.Contains("<link rel=\"icon\" href=\"data:,\">", html);
        Assert.True(html.IndexOf("<link rel=\"icon\"", StringComparison.Ordinal) < html.IndexOf("</head>", StringComparison.Ordinal));
    }
}
