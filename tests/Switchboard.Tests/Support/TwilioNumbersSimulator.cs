using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Support;

/// <summary>
/// Twilio's account and IncomingPhoneNumbers REST API on 127.0.0.1 (api.twilio.com 2010-04-01): HTTP Basic
/// <c>AccountSid:AuthToken</c>; <c>GET /Accounts/{sid}.json</c>; <c>GET /Accounts/{sid}/IncomingPhoneNumbers.json?PhoneNumber=</c>
/// (page with <c>incoming_phone_numbers</c>); <c>POST /Accounts/{sid}/IncomingPhoneNumbers/{PN…}.json</c> with form fields
/// <c>VoiceUrl</c>, <c>VoiceMethod</c>, <c>StatusCallback</c>, <c>StatusCallbackMethod</c>, <c>SmsUrl</c>, <c>SmsMethod</c>
/// (200 with the updated resource; 20404 when unknown). Also accepts <c>Messages.json</c> sends (201) so alerts do not dead-letter.
/// </summary>
internal sealed class TwilioNumbersSimulator : IAsyncDisposable
{
    public const string AccountSid = "AC0000000000000000000000000000abcd";
    public const string AuthToken = "twilio-auth-token-simulated-7Qx9";

    private readonly WebApplication app;
    private int sequence;

    public ConcurrentDictionary<string, OwnedNumber> Numbers { get; } = new();
    public ConcurrentQueue<string> Requests { get; } = new();
    public bool Outage { get; set; }
    public string BaseUrl { get; }

    public sealed class OwnedNumber
    {
        public required string Sid { get; init; }
        public required string PhoneNumber { get; init; }
        public string? VoiceUrl { get; set; }
        public string? VoiceMethod { get; set; }
        public string? StatusCallback { get; set; }
        public string? SmsUrl { get; set; }
        public string? SmsMethod { get; set; }
    }

    private TwilioNumbersSimulator(WebApplication app, string baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>Makes <paramref name="number"/> one of the account's numbers.</summary>
    public OwnedNumber Own(string number) =>
        Numbers.GetOrAdd(number, n => new OwnedNumber { Sid = $"PN{Interlocked.Increment(ref sequence):D32}", PhoneNumber = n });

    public static async Task<TwilioNumbersSimulator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        TwilioNumbersSimulator? sim = null;
        app.Use(async (http, next) =>
        {
            sim!.Requests.Enqueue($"{http.Request.Method} {http.Request.Path}{http.Request.QueryString}");
            if (sim.Outage)
            {
                http.Response.StatusCode = 503;
                await http.Response.WriteAsJsonAsync(new { code = 20503, message = "Service Unavailable", status = 503 });
                return;
            }
            var sid = http.Request.RouteValues.TryGetValue("sid", out var s) ? s as string : http.Request.Path.Value?.Split('/').ElementAtOrDefault(3)?.Replace(".json", "");
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}"));
            if (sid != AccountSid || http.Request.Headers.Authorization.ToString() != expected)
            {
                http.Response.StatusCode = 401;
                await http.Response.WriteAsJsonAsync(new { code = 20003, message = "Authenticate", more_info = "https://www.twilio.com/docs/errors/20003", status = 401 });
                return;
            }
            await next(http);
        });
        app.MapGet("/2010-04-01/Accounts/{file}", (string file) =>
            file == AccountSid + ".json" ? Results.Json(new { sid = AccountSid, friendly_name = "Simulated", status = "active", type = "Full" }) : Results.NotFound());
        app.MapGet("/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", (string sid, HttpContext http) =>
        {
            var filter = http.Request.Query["PhoneNumber"].ToString();
            var items = sim!.Numbers.Values.Where(n => filter.Length == 0 || n.PhoneNumber == filter).Select(n => Json(sid, n)).ToList();
            return Results.Json(new Dictionary<string, object?>
            {
                ["incoming_phone_numbers"] = items,
                ["page"] = 0,
                ["page_size"] = 50,
                ["start"] = 0,
                ["end"] = Math.Max(0, items.Count - 1),
                ["next_page_uri"] = null,
                ["previous_page_uri"] = null,
                ["uri"] = $"/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json",
            });
        });
        app.MapPost("/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers/{file}", async (string sid, string file, HttpContext http) =>
        {
            var number = sim!.Numbers.Values.FirstOrDefault(n => n.Sid + ".json" == file);
            if (number is null)
            {
                return Results.Json(new { code = 20404, message = "The requested resource was not found", status = 404 }, statusCode: 404);
            }
            if (!http.Request.HasFormContentType)
            {
                return Results.Json(new { code = 20001, message = "Expected form content", status = 400 }, statusCode: 400);
            }
            var form = await http.Request.ReadFormAsync();
            if (form.ContainsKey("VoiceUrl")) { number.VoiceUrl = form["VoiceUrl"]; }
            if (form.ContainsKey("VoiceMethod")) { number.VoiceMethod = form["VoiceMethod"]; }
            if (form.ContainsKey("StatusCallback")) { number.StatusCallback = form["StatusCallback"]; }
            if (form.ContainsKey("SmsUrl")) { number.SmsUrl = form["SmsUrl"]; }
            if (form.ContainsKey("SmsMethod")) { number.SmsMethod = form["SmsMethod"]; }
            return Results.Json(Json(sid, number));
        });
        app.MapPost("/2010-04-01/Accounts/{sid}/Messages.json", (string sid) =>
            Results.Json(new { sid = "SM" + Guid.NewGuid().ToString("N"), status = "queued", account_sid = sid }, statusCode: 201));
        await app.StartAsync();
        sim = new TwilioNumbersSimulator(app, app.Urls.First());
        return sim;
    }

    private static Dictionary<string, object?> Json(string account, OwnedNumber n) => new()
    {
        ["sid"] = n.Sid,
        ["account_sid"] = account,
        ["phone_number"] = n.PhoneNumber,
        ["friendly_name"] = n.PhoneNumber,
        ["voice_url"] = n.VoiceUrl,
        ["voice_method"] = n.VoiceMethod ?? "POST",
        ["sms_url"] = n.SmsUrl,
        ["sms_method"] = n.SmsMethod ?? "POST",
        ["status_callback"] = n.StatusCallback,
        ["status_callback_method"] = "POST",
        ["capabilities"] = new { voice = true, sms = true, mms = true },
        ["api_version"] = "2010-04-01",
        ["uri"] = $"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/{n.Sid}.json",
    };

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
