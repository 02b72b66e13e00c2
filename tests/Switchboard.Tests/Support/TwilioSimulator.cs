using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Support;

/// <summary>
/// Twilio's Messages REST API on 127.0.0.1 (shared/protocols/twilio-voice-sms.md §4): checks HTTP Basic
/// <c>AccountSid:AuthToken</c>, the form-encoded To/From/Body, answers 201 with the message JSON, and lists
/// messages on GET. <see cref="FailNext"/> makes the next sends answer 500 without creating a message;
/// <see cref="AcceptThenFailNext"/> creates the message and then answers 500 (a lost response).
/// </summary>
internal sealed class TwilioSimulator : IAsyncDisposable
{
    public const string AccountSid = "AC00000000000000000000000000000001";
    public const string AuthToken = "simulated-auth-token-0001";

    private readonly WebApplication app;
    private int sequence;

    public ConcurrentQueue<SentMessage> Messages { get; } = new();
    public ConcurrentQueue<string> Rejections { get; } = new();

    /// <summary>Call recordings started through the REST API: CallSid and the form fields.</summary>
    public ConcurrentQueue<(string CallSid, Dictionary<string, string> Form)> Recordings { get; } = new();
    public int FailNext;
    public int AcceptThenFailNext;
    public string BaseUrl { get; }

    public sealed record SentMessage(string Sid, string To, string From, string Body, DateTimeOffset CreatedAt);

    private TwilioSimulator(WebApplication app, string baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
    }

    public static async Task<TwilioSimulator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        TwilioSimulator? sim = null;
        app.MapPost("/2010-04-01/Accounts/{sid}/Messages.json", async (string sid, HttpContext http) => await sim!.CreateAsync(sid, http));
        app.MapGet("/2010-04-01/Accounts/{sid}/Messages.json", (string sid, HttpContext http) => sim!.List(sid, http));
        app.MapPost("/2010-04-01/Accounts/{sid}/Calls/{callSid}/Recordings.json", async (string sid, string callSid, HttpContext http) => await sim!.RecordAsync(sid, callSid, http));
        await app.StartAsync();
        sim = new TwilioSimulator(app, app.Urls.First());
        return sim;
    }

    private async Task<IResult> CreateAsync(string sid, HttpContext http)
    {
        if (!Authorized(sid, http))
        {
            Rejections.Enqueue("auth");
            return Results.Json(new { code = 20003, message = "Authenticate", more_info = "https://www.twilio.com/docs/errors/20003", status = 401 }, statusCode: 401);
        }
        if (!http.Request.HasFormContentType)
        {
            Rejections.Enqueue("content-type " + http.Request.ContentType);
            return Results.Json(new { code = 21602, message = "Message body is required.", status = 400 }, statusCode: 400);
        }
        var form = await http.Request.ReadFormAsync();
        string to = form["To"].ToString(), from = form["From"].ToString(), body = form["Body"].ToString();
        if (!to.StartsWith('+') || string.IsNullOrEmpty(from) || string.IsNullOrEmpty(body))
        {
            Rejections.Enqueue($"form To={to} From={from} Body={body.Length}");
            return Results.Json(new { code = 21211, message = $"The 'To' number {to} is not a valid phone number.", status = 400 }, statusCode: 400);
        }
        if (Interlocked.Decrement(ref FailNext) >= 0)
        {
            return Results.Json(new { code = 20500, message = "Internal Server Error", status = 500 }, statusCode: 500);
        }
        var message = new SentMessage($"SM{Interlocked.Increment(ref sequence):D32}", to, from, body, DateTimeOffset.UtcNow);
        Messages.Enqueue(message);
        if (Interlocked.Decrement(ref AcceptThenFailNext) >= 0)
        {
            return Results.Json(new { code = 20500, message = "Internal Server Error", status = 500 }, statusCode: 500);
        }
        return Results.Json(ToJson(sid, message, "queued"), statusCode: 201);
    }

    /// <summary>Starts a call recording (twilio-voice-sms.md §3): 201 with the recording resource.</summary>
    private async Task<IResult> RecordAsync(string sid, string callSid, HttpContext http)
    {
        if (!Authorized(sid, http))
        {
            return Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401);
        }
        var form = (await http.Request.ReadFormAsync()).ToDictionary(kv => kv.Key, kv => kv.Value.ToString());
        Recordings.Enqueue((callSid, form));
        var recording = $"RE{Interlocked.Increment(ref sequence):D32}";
        return Results.Json(new Dictionary<string, object?>
        {
            ["account_sid"] = sid, ["api_version"] = "2010-04-01", ["call_sid"] = callSid, ["conference_sid"] = null,
            ["channels"] = form.GetValueOrDefault("RecordingChannels") == "dual" ? 2 : 1, ["sid"] = recording, ["source"] = "StartCallRecordingAPI",
            ["status"] = "in-progress", ["track"] = form.GetValueOrDefault("RecordingTrack") ?? "both", ["duration"] = null,
            ["uri"] = $"/2010-04-01/Accounts/{sid}/Calls/{callSid}/Recordings/{recording}.json",
        }, statusCode: 201);
    }

    private IResult List(string sid, HttpContext http)
    {
        if (!Authorized(sid, http))
        {
            return Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401);
        }
        var to = http.Request.Query["To"].ToString();
        var from = http.Request.Query["From"].ToString();
        var items = Messages.Where(m => (to.Length == 0 || m.To == to) && (from.Length == 0 || m.From == from))
            .OrderByDescending(m => m.CreatedAt).Select(m => ToJson(sid, m, "sent")).ToList();
        return Results.Json(new { messages = items, page = 0, page_size = 50 });
    }

    private static bool Authorized(string sid, HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}"));
        return sid == AccountSid && header == expected;
    }

    private static Dictionary<string, object?> ToJson(string account, SentMessage m, string status) => new()
    {
        ["account_sid"] = account,
        ["api_version"] = "2010-04-01",
        ["body"] = m.Body,
        ["date_created"] = m.CreatedAt.ToString("ddd, dd MMM yyyy HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " +0000",
        ["direction"] = "outbound-api",
        ["error_code"] = null,
        ["from"] = m.From,
        ["num_segments"] = "1",
        ["sid"] = m.Sid,
        ["status"] = status,
        ["to"] = m.To,
        ["uri"] = $"/2010-04-01/Accounts/{account}/Messages/{m.Sid}.json",
    };

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
