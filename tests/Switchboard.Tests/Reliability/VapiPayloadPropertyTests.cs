using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;
using Switchboard.Vapi;

namespace Switchboard.Tests.Reliability;

/// <summary>
/// Property: take any Vapi fixture (shared/fixtures/vapi), replace any one field (arrays: their first 3 elements) with
/// any JSON value — the probe's nasty values, invalid UTF-8, random strings with lone surrogates, random doubles — or
/// remove it, sign and post it. The answer is 2xx or a 4xx envelope, never a 5xx; an accepted message is stored once;
/// its call stays readable; an accepted end-of-call report publishes <c>call.ended</c> to the tenant's endpoint; and at
/// the end every page, every call and the export still read. Bounded: <c>SWITCHBOARD_PROPERTY_ITERATIONS</c> cases
/// (default 300); <c>SWITCHBOARD_PROPERTY_SEED</c> replays the seed CsCheck prints on a failure.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiPayloadPropertyTests(WebhookFactory factory) : IClassFixture<WebhookFactory>
{
    private const string Slot = "__switchboard_fuzz_slot__";

    internal static long Iterations => long.TryParse(Environment.GetEnvironmentVariable("SWITCHBOARD_PROPERTY_ITERATIONS"), out var n) ? n : 300;

    internal static string? Seed => Environment.GetEnvironmentVariable("SWITCHBOARD_PROPERTY_SEED") is { Length: > 0 } s ? s : null;

    private static readonly Lazy<List<(string Name, JsonNode Root, List<string[]> Paths)>> Cases = new(LoadFixtures);

    private static List<(string, JsonNode, List<string[]>)> LoadFixtures()
    {
        var list = new List<(string, JsonNode, List<string[]>)>();
        foreach (var file in Directory.GetFiles(Fixtures.PathOf("vapi")).Where(f => f.EndsWith(".json") || f.EndsWith(".jsonc")).Order())
        {
            var root = JsonNode.Parse(Jsonc.ToStrictJson(File.ReadAllText(file)))!;
            var paths = new List<string[]>();
            Collect(root, [], paths);
            list.Add((Path.GetFileName(file), root, paths));
        }
        return list;
    }

    /// <summary>Every node's path (object keys, or array indexes 0–2 as "#i"), the root excluded.</summary>
    private static void Collect(JsonNode? node, string[] path, List<string[]> into)
    {
        if (path.Length > 0)
        {
            into.Add(path);
        }
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    Collect(v, [.. path, k], into);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < Math.Min(3, a.Count); i++)
                {
                    Collect(a[i], [.. path, "#" + i], into);
                }
                break;
        }
    }

    /// <summary>A replacement: raw JSON bytes, or null to remove the field.</summary>
    private static readonly Gen<byte[]?> Replacement = Gen.Frequency(
        (6, Gen.Int[0, BadInput.NastyValues.Length - 1].Select(i => (byte[]?)BadInput.NastyValues[i])),
        (2, Gen.String.Select(s => (byte[]?)Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(s)))),
        (1, Gen.Char.Array[0, 8].Select(cs => (byte[]?)Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new string(cs))))),
        (2, Gen.Double.Select(d => (byte[]?)Encoding.UTF8.GetBytes(d.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))),
        (1, Gen.Long.Select(l => (byte[]?)Encoding.UTF8.GetBytes(l.ToString(System.Globalization.CultureInfo.InvariantCulture)))),
        (1, Gen.Bool.Select(_ => (byte[]?)null)));

    /// <summary>The mutated body: the fixture with a fresh call id (half the time) and the field at the path replaced.</summary>
    internal static byte[] Mutate(JsonNode fixture, string[] path, byte[]? value, bool freshCallId)
    {
        var root = fixture.DeepClone();
        if (freshCallId && root["message"]?["call"] is JsonObject call)
        {
            call["id"] = "fuzz-" + Guid.NewGuid().ToString("N");
        }
        JsonNode? parent = root;
        for (var i = 0; i < path.Length - 1 && parent is not null; i++)
        {
            parent = path[i].StartsWith('#') ? (parent as JsonArray)?[int.Parse(path[i][1..])] : (parent as JsonObject)?[path[i]];
        }
        var last = path[^1];
        switch (parent)
        {
            case JsonArray a when last.StartsWith('#') && int.Parse(last[1..]) < a.Count:
                if (value is null)
                {
                    a.RemoveAt(int.Parse(last[1..]));
                }
                else
                {
                    a[int.Parse(last[1..])] = Slot;
                }
                break;
            case JsonObject o:
                if (value is null)
                {
                    o.Remove(last);
                }
                else
                {
                    o[last] = Slot;
                }
                break;
        }
        var text = Encoding.UTF8.GetBytes(root.ToJsonString());
        if (value is null)
        {
            return text;
        }
        var marker = Encoding.UTF8.GetBytes("\"" + Slot + "\"");
        var at = text.AsSpan().IndexOf(marker);
        return at < 0 ? text : [.. text.AsSpan(0, at), .. value, .. text.AsSpan(at + marker.Length)];
    }

    [Fact]
    public async Task AnyValueInAnyVapiFieldIsStoredOrRefusedWithA4xxAndEveryCallStaysReadable()
    {
        var tenant = await factory.CreateTenantAsync();
        var api = factory.ApiClient(tenant);
        var endpoint = await api.PostAsJsonAsync("/api/v1/webhooks/endpoints", new
        {
            url = "http://127.0.0.1:9/hook",
            eventTypes = new[] { "call.started", "call.ended", "call.analyzed", "lead.created", "lead.urgent", "recording.ready" },
        });
        Assert.Equal(HttpStatusCode.Created, endpoint.StatusCode);
        var cases = Cases.Value;
        var gen = Gen.Int[0, cases.Count - 1].SelectMany(f => Gen.Select(
            Gen.Int[0, cases[f].Paths.Count - 1], Replacement, Gen.Bool, (p, v, fresh) => (Fixture: f, Path: p, Value: v, Fresh: fresh)));

        await gen.SampleAsync(async c =>
        {
            var (name, root, paths) = cases[c.Fixture];
            var body = Mutate(root, paths[c.Path], c.Value, c.Fresh);
            var what = $"{name} {string.Join('.', paths[c.Path])} = {(c.Value is null ? "(removed)" : Encoding.UTF8.GetString(c.Value[..Math.Min(c.Value.Length, 80)]))}";

            var response = await BadInput.PostVapiBytesAsync(factory, tenant, body);

            await BadInput.AssertNoServerErrorAsync(response, what);
            if (response.StatusCode != HttpStatusCode.OK || (await response.Content.ReadAsStringAsync()).Contains("lines are busy"))
            {
                return; // refused, or a new call over the plan's concurrent-call limit: refused before anything is stored (by design)
            }
            var key = VapiEventProcessor.KeyOf(body);
            var stored = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.Where(e => e.IdempotencyKey == key)
                .Select(e => new { e.CallId, e.Type }).ToListAsync());
            Assert.True(stored.Count == 1, $"{what}: stored {stored.Count} times");
            if (stored[0].CallId is not { } callId)
            {
                return;
            }
            (await BadInput.GetJsonAsync(api, $"/api/v1/calls/{callId}")).Dispose();
            if (stored[0].Type == "end-of-call-report")
            {
                var id = callId.ToString();
                var published = await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents
                    .Where(e => e.Type == "call.ended" && e.PayloadJson.Contains(id)).CountAsync());
                Assert.True(published == 1, $"{what}: call.ended published {published} times");
            }
        }, seed: Seed, iter: Iterations, threads: 1);

        await BadInput.AssertEverythingReadableAsync(factory, tenant);
    }
}
