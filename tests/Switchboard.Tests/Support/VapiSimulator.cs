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
/// <c>number</c> and <c>twilioAccountSid</c>), <c>GET /phone-number</c>, <c>DELETE /phone-number/{id}</c>. Errors use
/// Vapi's NestJS shape <c>{"message":[…],"error":"Bad Request","statusCode":400}</c>. <see cref="Outage"/> answers 503 to
/// everything; <see cref="FailNext"/> answers 500 to the next n requests; <see cref="AcceptThenFailNext"/> creates and then answers 502.
/// </summary>
internal sealed class VapiSimulator : IAsyncDisposable
{
    public const string PrivateKey = "vapi-private-key-simulated-0001-9fA2";

    private readonly WebApplication app;

    public ConcurrentDictionary<string, JsonObject> Assistants { get; } = new();
    public ConcurrentDictionary<string, JsonObject> PhoneNumbers { get; } = new();
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
