using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Support;

/// <summary>
/// Vapi's REST API on 127.0.0.1 (shared/protocols/vapi-rest.md): <c>Authorization: Bearer &lt;private key&gt;</c>;
/// <c>POST /assistant</c> (201), <c>GET /assistant</c> (plain array), <c>GET|PATCH|DELETE /assistant/{id}</c> (200, 404
/// when unknown), <c>POST /phone-number</c> (201, body discriminated by <c>provider</c>; <c>twilio</c> needs
/// <c>number</c> and <c>twilioAccountSid</c>), <c>GET /phone-number</c>, <c>DELETE /phone-number/{id}</c>. Calls:
/// <c>POST /call</c> (<c>CreateCallDTO</c>: <c>assistantId</c> of a stored assistant, <c>phoneNumberId</c> of a stored number,
/// <c>customer.number</c> in E.164, optional <c>assistantOverrides</c> and <c>metadata</c> objects) → 201 with the call
/// (<c>id</c>, <c>orgId</c>, <c>type</c> <c>outboundPhoneCall</c>, <c>status</c> <c>queued</c>, the request's fields echoed,
/// <c>createdAt</c>), 400 on a bad body; <c>GET /call</c> (query <c>id</c>, <c>assistantId</c>, <c>phoneNumberId</c>,
/// <c>createdAtGe</c>, <c>limit</c>; plain array, newest first) and <c>GET /call/{id}</c>. Errors use
/// Vapi's NestJS shape <c>{"message":[…],"error":"Bad Request","statusCode":400}</c>. <see cref="Outage"/> answers 503 to
/// everything; <see cref="FailNext"/> answers 500 to the next n requests; <see cref="AcceptThenFailNext"/> creates and then answers 502.
/// </summary>
internal sealed class VapiSimulator : IAsyncDisposable
{
    public const string PrivateKey = "vapi-private-key-simulated-0001-9fA2";

    private readonly WebApplication app;

    public ConcurrentDictionary<string, JsonObject> Assistants { get; } = new();
    public ConcurrentDictionary<string, JsonObject> PhoneNumbers { get; } = new();

    /// <summary>Calls created with <c>POST /call</c>, by id.</summary>
    public ConcurrentDictionary<string, JsonObject> Calls { get; } = new();
    public ConcurrentQueue<(string Method, string Path, string? Body, string? Authorization)> Requests { get; } = new();
    public bool Outage { get; set; }
    public int FailNext;

    /// <summary>The next n creations succeed at Vapi but answer 502 (a lost response).</summary>
    public int AcceptThenFailNext;
    public string BaseUrl { get; }

    private VapiSimulator(WebApplication app, string baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
    }

    public static async Task<VapiSimulator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        VapiSimulator? sim = null;
        app.Use(async (http, next) =>
        {
            http.Request.EnableBuffering();
            var body = await new StreamReader(http.Request.Body).ReadToEndAsync();
            http.Request.Body.Position = 0;
            sim!.Requests.Enqueue((http.Request.Method, http.Request.Path + http.Request.QueryString, body.Length == 0 ? null : body, http.Request.Headers.Authorization.ToString()));
            if (sim.Outage)
            {
                await Write(http, 503, Error(503, "Service Unavailable", "upstream unavailable"));
                return;
            }
            if (Interlocked.Decrement(ref sim.FailNext) >= 0)
            {
                await Write(http, 500, Error(500, "Internal Server Error", "simulated failure"));
                return;
            }
            if (http.Request.Headers.Authorization.ToString() != "Bearer " + PrivateKey)
            {
                await Write(http, 401, Error(401, "Unauthorized", "Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa."));
                return;
            }
            await next(http);
        });
        app.MapPost("/assistant", async Task<IResult> (HttpContext http) => await sim!.CreateAsync(http, sim.Assistants, ValidateAssistant));
        app.MapGet("/assistant", () => Results.Json(sim!.Assistants.Values.OrderBy(a => a["createdAt"]!.GetValue<string>()).ToList()));
        app.MapGet("/assistant/{id}", (string id) => sim!.Assistants.TryGetValue(id, out var a) ? Results.Json(a) : NotFound());
        app.MapPatch("/assistant/{id}", async (string id, HttpContext http) => await sim!.UpdateAsync(id, http, sim.Assistants));
        app.MapDelete("/assistant/{id}", (string id) => sim!.Assistants.TryRemove(id, out var a) ? Results.Json(a) : NotFound());
        app.MapPost("/phone-number", async Task<IResult> (HttpContext http) => await sim!.CreateAsync(http, sim.PhoneNumbers, ValidatePhoneNumber));
        app.MapGet("/phone-number", () => Results.Json(sim!.PhoneNumbers.Values.ToList()));
        app.MapDelete("/phone-number/{id}", (string id) => sim!.PhoneNumbers.TryRemove(id, out var p) ? Results.Json(p) : NotFound());
        app.MapPost("/call", async Task<IResult> (HttpContext http) => await sim!.CreateCallAsync(http));
        app.MapGet("/call", (HttpContext http) => sim!.ListCalls(http.Request.Query));
        app.MapGet("/call/{id}", (string id) => sim!.Calls.TryGetValue(id, out var c) ? Results.Json(c) : NotFound());
        await app.StartAsync();
        sim = new VapiSimulator(app, app.Urls.First());
        return sim;
    }

    private async Task<IResult> CreateAsync(HttpContext http, ConcurrentDictionary<string, JsonObject> store, Func<JsonObject, string?> validate)
    {
        var body = await ReadObjectAsync(http);
        var problem = body is null ? "body must be a JSON object" : validate(body);
        if (problem is not null || body is null)
        {
            return Results.Json(Error(400, "Bad Request", problem ?? "body must be a JSON object"), statusCode: 400);
        }
        var now = DateTimeOffset.UtcNow.ToString("O");
        body["id"] = Guid.NewGuid().ToString();
        body["orgId"] = "org-simulated";
        body["createdAt"] = now;
        body["updatedAt"] = now;
        if (store == PhoneNumbers)
        {
            body["status"] = "active";
            body.Remove("twilioAuthToken"); // Vapi never echoes the token.
        }
        store[body["id"]!.GetValue<string>()] = body;
        if (Interlocked.Decrement(ref AcceptThenFailNext) >= 0)
        {
            return Results.Json(Error(502, "Bad Gateway", "upstream timeout"), statusCode: 502);
        }
        return Results.Json(body, statusCode: 201);
    }

    /// <summary>
    /// <c>POST /call</c> for one customer (vapi-rest.md "Calls"; the batch form <c>customers[]</c> is not simulated and is a 400).
    /// Vapi answers 400 when the assistant or the phone number is unknown ("Couldn't Get Assistant." / "Couldn't Get Phone Number.").
    /// </summary>
    private async Task<IResult> CreateCallAsync(HttpContext http)
    {
        var body = await ReadObjectAsync(http);
        var problem = body is null ? "body must be a JSON object" : ValidateCall(body);
        if (problem is not null || body is null)
        {
            return Results.Json(Error(400, "Bad Request", problem ?? "body must be a JSON object"), statusCode: 400);
        }
        var now = DateTimeOffset.UtcNow.ToString("O");
        var call = new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["orgId"] = "org-simulated",
            ["type"] = "outboundPhoneCall",
            ["status"] = "queued",
            ["assistantId"] = body["assistantId"]?.DeepClone(),
            ["phoneNumberId"] = body["phoneNumberId"]?.DeepClone(),
            ["customer"] = body["customer"]?.DeepClone(),
            ["phoneCallProvider"] = "twilio",
            ["phoneCallTransport"] = "pstn",
            ["createdAt"] = now,
            ["updatedAt"] = now,
        };
        foreach (var optional in new[] { "assistantOverrides", "metadata", "name" })
        {
            if (body[optional] is { } value)
            {
                call[optional] = value.DeepClone();
            }
        }
        Calls[call["id"]!.GetValue<string>()] = call;
        if (Interlocked.Decrement(ref AcceptThenFailNext) >= 0)
        {
            return Results.Json(Error(502, "Bad Gateway", "upstream timeout"), statusCode: 502);
        }
        return Results.Json(call, statusCode: 201);
    }

    private string? ValidateCall(JsonObject c)
    {
        if (c.ContainsKey("customers"))
        {
            return "customers is not supported by this simulator";
        }
        if (c["assistantId"] is not JsonValue aid || aid.GetValueKind() != JsonValueKind.String)
        {
            return c.ContainsKey("assistant") || c.ContainsKey("squadId") ? null : "assistantId must be a UUID";
        }
        if (!Assistants.ContainsKey(aid.GetValue<string>()))
        {
            return "Couldn't Get Assistant.";
        }
        if (c["phoneNumberId"] is not JsonValue pid || pid.GetValueKind() != JsonValueKind.String)
        {
            return "phoneNumberId must be a UUID";
        }
        if (!PhoneNumbers.ContainsKey(pid.GetValue<string>()))
        {
            return "Couldn't Get Phone Number.";
        }
        if (c["customer"] is not JsonObject customer || customer["number"] is not JsonValue n || n.GetValueKind() != JsonValueKind.String)
        {
            return "customer.number must be a string";
        }
        var number = n.GetValue<string>();
        if (!(number.StartsWith('+') && number.Length is >= 8 and <= 16 && number[1..].All(char.IsAsciiDigit)))
        {
            return "customer.number must be a valid phone number in the E.164 format.";
        }
        foreach (var objectField in new[] { "assistantOverrides", "metadata" })
        {
            if (c[objectField] is { } v && v is not JsonObject)
            {
                return objectField + " must be an object";
            }
        }
        return null;
    }

    private IResult ListCalls(IQueryCollection query)
    {
        IEnumerable<JsonObject> calls = Calls.Values;
        foreach (var field in new[] { "id", "assistantId", "phoneNumberId" })
        {
            if (query[field].ToString() is { Length: > 0 } value)
            {
                calls = calls.Where(c => c[field]?.GetValue<string>() == value);
            }
        }
        if (DateTimeOffset.TryParse(query["createdAtGe"].ToString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var since))
        {
            calls = calls.Where(c => DateTimeOffset.Parse(c["createdAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) >= since);
        }
        var limit = int.TryParse(query["limit"].ToString(), out var l) && l is > 0 and <= 1000 ? l : 100;
        return Results.Json(calls.OrderByDescending(c => c["createdAt"]!.GetValue<string>()).Take(limit).ToList());
    }

    private async Task<IResult> UpdateAsync(string id, HttpContext http, ConcurrentDictionary<string, JsonObject> store)
    {
        if (!store.TryGetValue(id, out var existing))
        {
            return NotFound();
        }
        var body = await ReadObjectAsync(http);
        var problem = body is null ? "body must be a JSON object" : ValidateAssistant(body);
        if (problem is not null || body is null)
        {
            return Results.Json(Error(400, "Bad Request", problem ?? "body must be a JSON object"), statusCode: 400);
        }
        foreach (var (key, value) in body.ToList())
        {
            existing[key] = value?.DeepClone();
        }
        existing["updatedAt"] = DateTimeOffset.UtcNow.ToString("O");
        return Results.Json(existing);
    }

    private static string? ValidateAssistant(JsonObject a)
    {
        if (a.ContainsKey("id") || a.ContainsKey("orgId"))
        {
            return "property id should not exist";
        }
        if (a["server"] is JsonObject server && server["url"]?.GetValueKind() != JsonValueKind.String)
        {
            return "server.url must be a URL address";
        }
        if (a["model"] is JsonObject model && (model["provider"] is null || model["model"] is null))
        {
            return "model.provider and model.model are required";
        }
        return null;
    }

    private static string? ValidatePhoneNumber(JsonObject p) =>
        p["provider"]?.GetValue<string>() != "twilio" ? "provider must be one of twilio, vonage, vapi, telnyx, byo-phone-number"
        : p["number"] is null ? "number should not be empty"
        : p["twilioAccountSid"] is null ? "twilioAccountSid should not be empty"
        : p["twilioAuthToken"] is null && p["twilioApiKey"] is null ? "twilioAuthToken or twilioApiKey is required"
        : null;

    private static async Task<JsonObject?> ReadObjectAsync(HttpContext http)
    {
        try
        {
            return (await JsonNode.ParseAsync(http.Request.Body)) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IResult NotFound() => Results.Json(Error(404, "Not Found", "Couldn't Find Resource"), statusCode: 404);

    private static JsonObject Error(int status, string error, string message) =>
        new() { ["message"] = new JsonArray(message), ["error"] = error, ["statusCode"] = status };

    private static Task Write(HttpContext http, int status, JsonObject body)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
