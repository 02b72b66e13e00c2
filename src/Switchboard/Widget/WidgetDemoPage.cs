using System.Text;
using Microsoft.Net.Http.Headers;

namespace Switchboard.Widget;

/// <summary>
/// The Development test page at <c>/widget/demo</c>, in the visitor's language: <c>?lang=xx</c>, else the first of the
/// browser's <c>Accept-Language</c> ranges (RFC 9110 §12.5.4, by quality) that the widget speaks, else English. The page's
/// <c>&lt;html lang&gt;</c> is that language, so the widget (which reads it: <c>widget/src/i18n.ts</c>) speaks it too;
/// it used to be <c>fr</c> for every visitor.
/// </summary>
internal static class WidgetDemoPage
{
    /// <summary>The page's text per widget language: a title line, what the page is, and a message to try.</summary>
    private static readonly Dictionary<string, (string Intro, string Try)> Texts = new()
    {
        ["en"] = ("Demo page for the Switchboard widget: the chat button is in the bottom corner.", "Try: “My basement is flooded, call me back at 514 555 0142”."),
        ["fr"] = ("Page de démonstration du widget Switchboard : le bouton de clavardage est dans le coin inférieur.", "Essayez : « Mon sous-sol est inondé, rappelez-moi au 514 555 0142 »."),
        ["es"] = ("Página de demostración del widget de Switchboard: el botón de chat está en la esquina inferior.", "Pruebe: «Mi sótano está inundado, llámenme al 514 555 0142»."),
        ["de"] = ("Demoseite für das Switchboard-Widget: Die Chat-Schaltfläche ist in der unteren Ecke.", "Versuchen Sie: „Mein Keller ist überflutet, rufen Sie mich unter 514 555 0142 zurück“."),
        ["he"] = ("דף הדגמה של הווידג'ט של Switchboard: כפתור הצ'אט נמצא בפינה התחתונה.", "נסו: \"המרתף שלי מוצף, תחזרו אליי ב־\u2066514 555 0142\u2069\"."),
        ["ar"] = ("صفحة تجريبية لأداة Switchboard: زر الدردشة في الزاوية السفلية.", "جرّب: «القبو عندي غارق بالماء، اتصلوا بي على \u2066514 555 0142\u2069»."),
    };

    /// <summary>
    /// The page's language, a widget language code (<c>en</c>, <c>fr</c>, <c>es</c>, <c>de</c>, <c>he</c>, <c>ar</c>):
    /// <paramref name="lang"/> when it is one, else the best <paramref name="acceptLanguage"/> range whose primary subtag is
    /// one (<c>fr-CA;q=0.9</c> → <c>fr</c>), else <c>en</c>. A malformed header counts as absent.
    /// </summary>
    public static string Language(string? lang, string? acceptLanguage)
    {
        if (lang is not null && Texts.ContainsKey(lang))
        {
            return lang;
        }
        if (StringWithQualityHeaderValue.TryParseList(acceptLanguage?.Split(',') ?? [], out var ranges))
        {
            foreach (var range in ranges.OrderByDescending(r => r.Quality ?? 1))
            {
                var primary = range.Value.Value?.Split('-')[0].ToLowerInvariant();
                if (primary is not null && Texts.ContainsKey(primary) && range.Quality is not 0)
                {
                    return primary;
                }
            }
        }
        return "en";
    }

    /// <summary>
    /// The page, in <paramref name="language"/> (from <see cref="Language"/>), embedding the widget with
    /// <paramref name="publishableKey"/>. Its icon is an empty <c>data:</c> URL, so the browser does not request
    /// <c>/favicon.ico</c> (HTML Living Standard §4.2.4.1: without a <c>rel=icon</c> link it tries that path).
    /// </summary>
    public static string Html(string language, string publishableKey)
    {
        var (intro, tryThis) = Texts[language];
        return new StringBuilder()
            .Append("<!doctype html><html lang=\"").Append(language).Append('"').Append(language is "ar" or "he" ? " dir=\"rtl\"" : "").Append("><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            // An empty icon, as the dashboard's index.html has: without one the browser asks for /favicon.ico, a 404 in the console.
            .Append("<link rel=\"icon\" href=\"data:,\"><title>Drain Fortin — Switchboard</title></head><body>")
            .Append("<h1>Drain Fortin</h1><p>").Append(System.Net.WebUtility.HtmlEncode(intro)).Append(' ').Append(System.Net.WebUtility.HtmlEncode(tryThis)).Append("</p>")
            .Append("<script src=\"/widget.js\" data-key=\"").Append(System.Net.WebUtility.HtmlEncode(publishableKey)).Append("\" async></script></body></html>")
            .ToString();
    }
}
