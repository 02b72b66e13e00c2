using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Switchboard.Simulators;
using Switchboard.Tests.Support;
using Switchboard.Tests.Widget;

namespace Switchboard.Tests.Browser;

/// <summary>
/// Widget voice in a real Chromium: the host (Kestrel, realtime provider simulator) serves the widget; a "customer site"
/// on another 127.0.0.1 port embeds it under a strict CSP. Chromium runs with a fake microphone
/// (<c>--use-fake-ui-for-media-stream --use-fake-device-for-media-stream</c>) fed from a WAV written here: 2.5 s of
/// silence, then 0.8 s of a loud tone the simulator's VAD takes for the visitor's words. Skipped loudly without Chromium or
/// the built widget.
/// </summary>
public sealed class WidgetVoiceBrowserFixture : IAsyncLifetime
{
    private IPlaywright? playwright;
    private WebApplication? site;
    private string? wav;

    internal WidgetVoiceFactory Host { get; } = new();
    internal IBrowser? Browser { get; private set; }
    internal string? SkipReason { get; private set; }
    internal string HostUrl { get; private set; } = "";
    internal string SiteUrl { get; private set; } = "";

    internal static string VoiceJs => Path.Combine(Fixtures.RepositoryRoot, "widget", "dist", "voice.js");

    public async Task InitializeAsync()
    {
        SkipReason = !File.Exists(BrowserFixture.ChromiumPath) ? $"Chromium not found at {BrowserFixture.ChromiumPath} (apt-get install -y chromium fonts-noto-core)"
            : !File.Exists(VoiceJs) ? "widget/dist/voice.js is not built (run ./test.sh or npm run --prefix widget build)" : null;
        if (SkipReason is not null)
        {
            Console.Error.WriteLine($"!!!!!!!! Widget voice browser suite SKIPPED: {SkipReason} !!!!!!!!");
            return;
        }
        HostUrl = Host.ServerUri.ToString().TrimEnd('/');
        var socketUrl = "ws" + HostUrl[4..];

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        site = builder.Build();
        site.MapGet("/favicon.ico", () => Results.NoContent());
        site.MapGet("/{lang}", (string lang, HttpContext http, string key) =>
        {
            http.Response.Headers.ContentSecurityPolicy =
                $"default-src 'self'; script-src 'self' {HostUrl}; connect-src 'self' {HostUrl} {socketUrl}; style-src 'self'; img-src 'self'";
            return Results.Content($$"""
                <!doctype html><html lang="{{lang}}"><head><meta charset="utf-8"><title>Plomberie</title></head>
                <body><h1>Plomberie Fortin</h1>
                <script src="{{HostUrl}}/widget.js" data-key="{{WebUtility.HtmlEncode(key)}}" async></script></body></html>
                """, "text/html; charset=utf-8");
        });
        await site.StartAsync();
        SiteUrl = site.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');

        wav = Path.Combine(Path.GetTempPath(), $"switchboard-voice-{Guid.NewGuid():N}.wav");
        await File.WriteAllBytesAsync(wav, Wav(48000, [(2500, false), (800, true), (4000, false)]));
        Assertions.SetDefaultExpectTimeout(BrowserFixture.ExpectTimeoutMs);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = BrowserFixture.ChromiumPath,
            Headless = true,
            Args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", $"--use-file-for-fake-audio-capture={wav}%noloop"],
        });
    }

    /// <summary>A mono PCM16 WAV of silences and 440 Hz tones.</summary>
    private static byte[] Wav(int rate, (int Ms, bool Tone)[] parts)
    {
        var samples = parts.Sum(p => p.Ms * rate / 1000);
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        w.Write("RIFF"u8);
        w.Write(36 + (samples * 2));
        w.Write("WAVEfmt "u8);
        w.Write(16);
        w.Write((short)1);
        w.Write((short)1);
        w.Write(rate);
        w.Write(rate * 2);
        w.Write((short)2);
        w.Write((short)16);
        w.Write("data"u8);
        w.Write(samples * 2);
        foreach (var (ms, tone) in parts)
        {
            for (var i = 0; i < ms * rate / 1000; i++)
            {
                w.Write(tone ? (short)(12000 * Math.Sin(2 * Math.PI * 440 * i / rate)) : (short)0);
            }
        }
        w.Flush();
        return stream.ToArray();
    }

    /// <summary>A fresh context and page recording console errors, CSP violations (<c>window.__csp</c>) and voice states (<c>window.__voice</c>).</summary>
    internal async Task<(IPage Page, List<string> Errors)> OpenAsync(string? initScript = null)
    {
        var context = await Browser!.NewContextAsync(new() { Locale = "fr-CA", ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        await context.AddInitScriptAsync(
            "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));" +
            "window.__voice = []; document.addEventListener('switchboard:voice', e => window.__voice.push(e.detail.state));" + (initScript ?? ""));
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") { lock (errors) { errors.Add($"{m.Text} {m.Location}"); } } };
        page.PageError += (_, e) => { lock (errors) { errors.Add(e); } };
        return (page, errors);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        playwright?.Dispose();
        if (site is not null)
        {
            await site.DisposeAsync();
        }
        if (wav is not null)
        {
            File.Delete(wav);
        }
        Host.Dispose();
    }
}

[Trait("Category", "Browser")]
public sealed class WidgetVoiceBrowserTests(WidgetVoiceBrowserFixture fx) : IClassFixture<WidgetVoiceBrowserFixture>
{
    private bool Skipped => fx.SkipReason is not null;

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a browser (or host CSP) where the AudioWorklet cannot load: the ScriptProcessor fallback captures
    public async Task AVisitorTalksToTheAssistantFromTheCustomersSite(bool workletBlocked)
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.Host.CreateWidgetTenantAsync("pro", fx.SiteUrl);
        fx.Host.Provider.Script = new ProviderScript
        {
            Greeting = new ScriptedSpeech { Text = "Drain Fortin, bonjour! Comment puis-je vous aider?", AudioMs = 1500 },
            FirstAudioDelayMs = 40,
            DeltaMs = 100,
            Pace = 1,
            Turns = [new ScriptedTurn { Hears = "Mon sous-sol est inondé.", Says = new ScriptedSpeech { Text = "Je préviens le plombier de garde.", AudioMs = 1200 } }],
        };
        var (page, errors) = await fx.OpenAsync(workletBlocked ? "AudioWorklet.prototype.addModule = () => Promise.reject(new DOMException('blocked', 'AbortError'));" : null);
        await page.GotoAsync($"{fx.SiteUrl}/fr?key={Uri.EscapeDataString(tenant.Key)}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).ClickAsync();
        var mic = page.GetByRole(AriaRole.Button, new() { Name = "Parlez-nous" });
        await mic.ClickAsync();

        // The greeting's audio is scheduled for playback, then its transcript shows; the visitor's words become a turn.
        var deadline = DateTime.UtcNow.AddSeconds(45); // the first call of a cold host on a loaded machine
        string[] states = [];
        while (!states.Contains("speaking") && !states.Contains("ended") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            states = await page.EvaluateAsync<string[]>("() => window.__voice");
        }
        Assert.True(states.Contains("speaking"), $"voice states: {string.Join(", ", states)}; widget says: " +
            await page.Locator("switchboard-widget .log").InnerTextAsync());
        await Assertions.Expect(page.GetByText("Drain Fortin, bonjour!", new() { Exact = false })).ToBeVisibleAsync(new() { Timeout = 15000 });
        await Assertions.Expect(page.GetByText("Mon sous-sol est inondé.")).ToBeVisibleAsync(new() { Timeout = 15000 });
        await Assertions.Expect(page.GetByText("Je préviens le plombier de garde.")).ToBeVisibleAsync(new() { Timeout = 15000 });

        // Hanging up ends the call; the server finishes it as a web voice call.
        var hangUp = page.GetByRole(AriaRole.Button, new() { Name = "Raccrocher" });
        await hangUp.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Parlez-nous" })).ToHaveAttributeAsync("data-state", "ended");
        deadline = DateTime.UtcNow.AddSeconds(15);
        global::Switchboard.Calls.Call? call = null;
        while (call is not { TranscriptFinal: true } && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            call = await fx.Host.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleOrDefaultAsync(c => c.Type == "webVoice"));
        }
        Assert.NotNull(call);
        Assert.True(call.TranscriptFinal);
        Assert.Equal("web", call.Channel);
        Assert.Contains("user: Mon sous-sol est inondé.", call.TranscriptText);
        Assert.Equal("audio/pcm", fx.Host.Provider.Sessions.Last().Format); // PCM16 24 kHz end to end

        Assert.Empty(await page.EvaluateAsync<string[]>("() => window.__csp"));
        lock (errors)
        {
            Assert.Empty(errors);
        }
    }

    [Fact]
    public async Task ARefusedMicrophoneFallsBackToText()
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.Host.CreateWidgetTenantAsync("pro", fx.SiteUrl);
        // The visitor answers "Block" to the browser's microphone prompt.
        var (page, errors) = await fx.OpenAsync(
            "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));");
        await page.GotoAsync($"{fx.SiteUrl}/fr?key={Uri.EscapeDataString(tenant.Key)}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Parlez-nous" }).ClickAsync();

        await Assertions.Expect(page.GetByText("Le micro n’est pas disponible. Vous pouvez continuer par écrit ici.")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Parlez-nous" })).ToHaveAttributeAsync("data-state", "ended");
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" });
        await Assertions.Expect(box).ToBeFocusedAsync();
        await box.FillAsync("Bonjour, quelles sont vos heures d'ouverture?");
        await box.PressAsync("Enter");
        await Assertions.Expect(page.Locator("switchboard-widget .msg.assistant").Nth(1)).ToBeVisibleAsync(new() { Timeout = 15000 });
        Assert.Equal(0, await fx.Host.WithDbAsync(tenant.Id, db => db.Calls.CountAsync(c => c.Type == "webVoice"))); // no voice session was started
        Assert.Empty(await page.EvaluateAsync<string[]>("() => window.__csp"));
        lock (errors)
        {
            Assert.Empty(errors);
        }
    }

    [Fact]
    public async Task TheVoiceChunkAndItsWorkletAreServedSeparatelyWithinTheirBudget()
    {
        if (Skipped)
        {
            return;
        }
        using var client = new HttpClient();
        foreach (var (path, budget) in new[] { ("/widget/voice.js", 10 * 1024), ("/widget/voice-worklet.js", 2 * 1024) })
        {
            var served = await client.GetAsync(fx.HostUrl + path);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Equal("*", served.Headers.GetValues("Access-Control-Allow-Origin").Single()); // a worklet module is fetched in CORS mode
            using var gz = new MemoryStream();
            await using (var z = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
            {
                await z.WriteAsync(await served.Content.ReadAsByteArrayAsync());
            }
            Assert.True(gz.Length <= budget, $"{path} is {gz.Length} bytes gzipped (budget {budget})");
        }
        var widget = await client.GetStringAsync(fx.HostUrl + "/widget.js");
        Assert.DoesNotContain("getUserMedia", widget, StringComparison.Ordinal); // text chat never carries the voice code
    }

    [Fact]
    public async Task TheMicrophoneButtonDrawsItsIconWithoutAnEmojiFont()
    {
        if (Skipped)
        {
            return;
        }
        // It was the emoji "🎙", drawn as a stray glyph where no emoji font is installed (this machine's Chromium among them).
        var tenant = await fx.Host.CreateWidgetTenantAsync("pro", fx.SiteUrl);
        var (page, errors) = await fx.OpenAsync();
        await page.GotoAsync($"{fx.SiteUrl}/fr?key={Uri.EscapeDataString(tenant.Key)}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).ClickAsync();
        var mic = page.GetByRole(AriaRole.Button, new() { Name = "Parlez-nous" });
        await Assertions.Expect(mic).ToBeVisibleAsync();
        await Assertions.Expect(mic).ToHaveTextAsync("");
        var icon = await mic.Locator("svg").BoundingBoxAsync();
        Assert.True(icon is { Width: > 10, Height: > 10 }, $"the microphone icon's box is {icon?.Width}x{icon?.Height}");
        lock (errors)
        {
            Assert.Empty(errors);
        }
    }

    [Fact]
    public async Task APlanWithoutVoiceShowsNoMicrophone()
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.Host.CreateWidgetTenantAsync("starter", fx.SiteUrl);
        var (page, _) = await fx.OpenAsync();
        await page.GotoAsync($"{fx.SiteUrl}/fr?key={Uri.EscapeDataString(tenant.Key)}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" })).ToBeVisibleAsync();
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Parlez-nous" }).CountAsync());
    }
}
