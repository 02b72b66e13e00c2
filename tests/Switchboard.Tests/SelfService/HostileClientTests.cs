using System.Data.Common;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.SelfService;

/// <summary>
/// What a careless or hostile client sends to the tenant API, generated from the committed OpenAPI document
/// (<c>web/src/lib/api/openapi.json</c>) so a new <c>/api/v1</c> endpoint is probed without editing this test: malformed
/// JSON, JSON of the wrong type, duplicate and unknown names, huge strings and bodies, an empty body, a wrong content type,
/// bytes that are not UTF-8, NUL and control characters, lone surrogates, out-of-range and garbage query parameters, path
/// ids that are not GUIDs or name nothing, and methods the path does not take. Every answer must be a 4xx in the error
/// envelope (<c>{"error":{"code":…}}</c>, JSON), within a deadline, and a write must leave the tenant's rows exactly as
/// they were (every table with a <c>TenantId</c>, hashed before and after each operation's cases).
/// Every failure is collected and reported at once, one line per case.
/// </summary>
[Trait("Category", "Database")]
public sealed class HostileClientTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    // Not probed: the operator's routes are not tenant-scoped (a tenant's user is refused with 403 before anything is read);
    // logout ends the session the probe runs on; the event stream answers a good request with a stream that never ends.
    private static readonly string[] Skipped = ["/api/v1/operator/", "/api/v1/auth/logout", "/api/v1/events"];

    // Answers that are not a 4xx and are right, or are known and belong to an area this probe's branch may not change. An entry
    // is "METHOD /path/template" and the start of the probe's name; a tolerated answer also exempts its operation from the
    // state comparison when it was a 2xx.
    private static readonly (string Operation, string Probe, string Why)[] Tolerated =
    [
        ("PATCH /api/v1/onboarding", "currentStep:",
            "the wizard saves what it can: an unknown step is a 200 with a STEP_UNKNOWN warning and is not stored (the state comparison still runs)"),
        ("POST /api/v1/keys/{id}/rotate", "empty body",
            "the body is optional (requestBody.required is false): no body rotates with the defaults, as documented"),
        ("GET /api/v1/campaigns/{id}/contacts", "after=-1",
            "Outbound area: 'after' is an exclusive ordinal lower bound, and any value below the first ordinal means from the start"),
    ];

    private sealed record Operation(string Method, string Path, JsonObject Node);

    private sealed record Probe(string Name, HttpMethod Method, string Url, HttpContent? Content);

    [Fact]
    public async Task HostileBodiesAreRefusedWithTheEnvelopeAndChangeNothing()
    {
        var (tenant, ids) = await TenantWithOneOfEverythingAsync();
        var failures = new List<string>();
        foreach (var op in Operations().Where(o => o.Node["requestBody"] is not null).OrderBy(o => o.Path.Contains("erase") ? 1 : 0))
        {
            var url = Fill(op.Path, ids);
            var schema = BodySchema(op);
            var before = await TenantStateAsync(tenant.TenantId);
            var toleratedWrite = false;
            foreach (var probe in BodyProbes(op, url, schema))
            {
                toleratedWrite |= await SendAsync(tenant.Client, op, probe, failures);
            }
            var after = await TenantStateAsync(tenant.TenantId);
            foreach (var table in before.Keys.Union(after.Keys).Where(t => !toleratedWrite && before.GetValueOrDefault(t) != after.GetValueOrDefault(t)))
            {
                failures.Add($"{op.Method} {op.Path}: the hostile bodies changed table {table}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} hostile requests were not refused properly:\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task HostileQueriesPathsAndMethodsAreRefusedWithTheEnvelope()
    {
        var (tenant, ids) = await TenantWithOneOfEverythingAsync();
        var failures = new List<string>();
        var operations = Operations().ToList();
        var before = await TenantStateAsync(tenant.TenantId);
        foreach (var op in operations)
        {
            var url = Fill(op.Path, ids);
            foreach (var probe in QueryProbes(op, url).Concat(PathProbes(op, ids)))
            {
                await SendAsync(tenant.Client, op, probe, failures);
            }
        }
        foreach (var path in operations.GroupBy(o => o.Path))
        {
            var taken = path.Select(o => o.Method).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var method in new[] { "GET", "POST", "PUT", "PATCH", "DELETE" }.Where(m => !taken.Contains(m)))
            {
                var content = method is "GET" or "DELETE" ? null : Json("{}");
                await SendAsync(tenant.Client, path.First(), new Probe("method not allowed", new HttpMethod(method), Fill(path.Key, ids), content), failures);
            }
        }
        var after = await TenantStateAsync(tenant.TenantId);
        foreach (var table in before.Keys.Union(after.Keys).Where(t => before.GetValueOrDefault(t) != after.GetValueOrDefault(t)))
        {
            failures.Add($"the hostile queries, paths or methods changed table {table}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} hostile requests were not refused properly:\n" + string.Join("\n", failures));
    }

    /// <summary>Sends <paramref name="probe"/> and adds a line to <paramref name="failures"/> unless it is a 4xx in the envelope.</summary>
    /// <returns>True when the answer was a tolerated 2xx (see <see cref="Tolerated"/>).</returns>
    private static async Task<bool> SendAsync(HttpClient client, Operation op, Probe probe, List<string> failures)
    {
        var label = $"{probe.Method} {Shorten(probe.Url)} [{probe.Name}]";
        var tolerated = Tolerated.Any(t => t.Operation == $"{op.Method} {op.Path}" && probe.Name.StartsWith(t.Probe, StringComparison.Ordinal));
        using var request = new HttpRequestMessage(probe.Method, probe.Url) { Content = probe.Content };
        using var timeout = new CancellationTokenSource(Deadline);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            if (status is < 400 or >= 500)
            {
                if (tolerated && status < 300)
                {
                    return true;
                }
                failures.Add($"{label}: {status} {Shorten(text)}");
                return false;
            }
            if (response.Content.Headers.ContentType?.MediaType is not "application/json")
            {
                failures.Add($"{label}: {status} with content type '{response.Content.Headers.ContentType}' {Shorten(text)}");
                return false;
            }
            try
            {
                if (JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>() is not { Length: > 0 })
                {
                    failures.Add($"{label}: {status} without the envelope {Shorten(text)}");
                }
            }
            catch (System.Text.Json.JsonException)
            {
                failures.Add($"{label}: {status} with a body that is not JSON {Shorten(text)}");
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            failures.Add($"{label}: no answer within {Deadline.TotalSeconds} s");
        }
        return false;
    }

    private static IEnumerable<Probe> BodyProbes(Operation op, string url, JsonObject? schema)
    {
        var method = new HttpMethod(op.Method);
        Probe P(string name, HttpContent content) => new(name, method, url, content);
        yield return P("malformed JSON", Json("{\"name\":"));
        yield return P("array for object", Json("[]"));
        yield return P("string for object", Json("\"text\""));
        yield return P("number for object", Json("12"));
        yield return P("bare NaN", Json("NaN"));
        yield return P("trailing garbage", Json("{} {}"));
        if (op.Node["requestBody"]?["required"]?.GetValue<bool>() == true)
        {
            yield return P("empty body", Json("")); // an optional body may be absent: that is not hostile
        }
        yield return P("wrong content type", new StringContent("{}", Encoding.UTF8, "text/plain"));
        yield return P("form content type", new FormUrlEncodedContent([new("name", "x")]));
        yield return P("unknown field only", Json("{\"zzUnknownField\":1}"));
        yield return P("deep nesting", Json(new string('[', 5000) + new string(']', 5000)));
        yield return P("huge body", Json("{\"zzPadding\":\"" + new string('a', 3 * 1024 * 1024) + "\"}"));
        var properties = schema?["properties"]?.AsObject();
        if (properties is null || properties.Count == 0)
        {
            yield break;
        }
        var required = Required(schema!, properties);
        foreach (var (name, property) in properties)
        {
            var type = TypeOf(property) ?? (property?["$ref"] is not null ? "object" : null);
            JsonObject With(string raw) => required.Where(p => p.Key != name).Aggregate(new JsonObject { [name] = JsonNode.Parse(raw) },
                (o, p) => { o[p.Key] = p.Value?.DeepClone(); return o; });
            string Raw(string raw) => With("null").ToJsonString().Replace("\"" + name + "\":null", "\"" + name + "\":" + raw, StringComparison.Ordinal);
            yield return P($"{name}: duplicate key", Json("{\"" + name + "\":null," + Raw("null")[1..]));
            yield return P($"{name}: array for {type}", Json(Raw("[[[]]]")));
            switch (type)
            {
                case "string":
                    yield return P($"{name}: number for string", Json(Raw("12")));
                    yield return P($"{name}: object for string", Json(Raw("{}")));
                    yield return P($"{name}: NUL", Json(Raw("\"a\\u0000b\"")));
                    yield return P($"{name}: control character", Json(Raw("\"a\\u0007\\u001bb\"")));
                    yield return P($"{name}: lone surrogate", Json(Raw("\"\\ud800\"")));
                    yield return P($"{name}: invalid UTF-8", InvalidUtf8(Raw("\"a~INVALID~b\"")));
                    yield return P($"{name}: huge string", Json(Raw("\"" + new string('x', 300_000) + "\"")));
                    break;
                case "integer" or "number":
                    yield return P($"{name}: string for number", Json(Raw("\"12\"")));
                    yield return P($"{name}: overflow", Json(Raw("99999999999999999999999999999")));
                    yield return P($"{name}: 1e400", Json(Raw("1e400")));
                    yield return P($"{name}: NaN", Json(Raw("NaN")));
                    yield return P($"{name}: fraction", type == "integer" ? Json(Raw("1.5")) : Json(Raw("-1e308")));
                    break;
                case "boolean":
                    yield return P($"{name}: string for boolean", Json(Raw("\"yes\"")));
                    yield return P($"{name}: number for boolean", Json(Raw("1")));
                    break;
                default:
                    yield return P($"{name}: string for {type}", Json(Raw("\"text\"")));
                    yield return P($"{name}: number for {type}", Json(Raw("12")));
                    break;
            }
        }
    }

    private static IEnumerable<Probe> QueryProbes(Operation op, string url)
    {
        var method = new HttpMethod(op.Method);
        Probe P(string name, string query) => new(name, method, url + "?" + query, method == HttpMethod.Get || method == HttpMethod.Delete ? null : Json("{}"));
        foreach (var parameter in (op.Node["parameters"]?.AsArray() ?? []).Where(p => p?["in"]?.GetValue<string>() == "query"))
        {
            var name = parameter!["name"]!.GetValue<string>();
            var schema = parameter["schema"];
            var type = TypeOf(schema);
            var format = schema?["format"]?.GetValue<string>();
            if (type is "integer" or "number")
            {
                yield return P($"{name}=-1", $"{name}=-1");
                yield return P($"{name} overflow", $"{name}=999999999999");
                yield return P($"{name} huge", $"{name}=99999999999999999999999999");
                yield return P($"{name} not a number", $"{name}=abc");
                yield return P($"{name} NaN", $"{name}=NaN");
                yield return P($"{name} repeated", $"{name}=1&{name}=2");
            }
            else if (type == "boolean")
            {
                yield return P($"{name} not a boolean", $"{name}=maybe");
            }
            else if (format is "date-time" or "date" || name is "from" or "to" || name.EndsWith("At", StringComparison.Ordinal))
            {
                yield return P($"{name} not a date", $"{name}=not-a-date");
                yield return P($"{name} impossible date", $"{name}=2026-13-45");
                yield return P($"{name} repeated", $"{name}=2026-01-01&{name}=2026-02-01");
            }
            else if (name is "tz")
            {
                yield return P($"{name} unknown zone", $"{name}=Not/A_Zone");
                yield return P($"{name} path traversal", $"{name}=..%2F..%2Fetc%2Fpasswd");
            }
            else if (name is "cursor" or "after" or "period" || schema?["enum"] is not null || name is "status" or "urgency" or "channel" or "direction" or "state")
            {
                yield return P($"{name} garbage", $"{name}=%21%21garbage%00%FF");
                yield return P($"{name} repeated garbage", $"{name}=x&{name}=y");
            }
            else if (format == "uuid")
            {
                yield return P($"{name} not a GUID", $"{name}=not-a-guid");
            }
        }
    }

    private static IEnumerable<Probe> PathProbes(Operation op, IReadOnlyDictionary<string, string> ids)
    {
        var method = new HttpMethod(op.Method);
        HttpContent? Body() => op.Node["requestBody"] is null ? null : Json("{}");
        foreach (var parameter in (op.Node["parameters"]?.AsArray() ?? []).Where(p => p?["in"]?.GetValue<string>() == "path"))
        {
            var name = parameter!["name"]!.GetValue<string>();
            var others = ids.Where(p => p.Key != name).ToDictionary();
            yield return new($"{name} not a GUID", method, Fill(op.Path, others.Append(new(name, "not-a-guid")).ToDictionary()), Body());
            yield return new($"{name} names nothing", method, Fill(op.Path, others.Append(new(name, Guid.NewGuid().ToString())).ToDictionary()), Body());
            yield return new($"{name} encoded control character", method, Fill(op.Path, others.Append(new(name, "a%01b")).ToDictionary()), Body());
            yield return new($"{name} huge", method, Fill(op.Path, others.Append(new(name, new string('9', 4000))).ToDictionary()), Body());
        }
    }

    /// <summary>The tenant-scoped operations of the committed OpenAPI document.</summary>
    private static IEnumerable<Operation> Operations()
    {
        var doc = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, "web", "src", "lib", "api", "openapi.json")))!;
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            if (!path.StartsWith("/api/v1/", StringComparison.Ordinal) || Skipped.Any(s => path.StartsWith(s, StringComparison.Ordinal)))
            {
                continue;
            }
            foreach (var (method, node) in item!.AsObject())
            {
                if (method is "get" or "post" or "put" or "patch" or "delete" && node!["security"] is JsonArray { Count: > 0 })
                {
                    yield return new(method.ToUpperInvariant(), path, node.AsObject());
                }
            }
        }
    }

    private static JsonObject? BodySchema(Operation op)
    {
        var schema = op.Node["requestBody"]?["content"]?["application/json"]?["schema"];
        return schema is null ? null : Resolve(schema);
    }

    private static readonly Lazy<JsonNode> Document = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, "web", "src", "lib", "api", "openapi.json")))!);

    private static JsonObject? Resolve(JsonNode node)
    {
        if (node["$ref"]?.GetValue<string>() is { } reference)
        {
            return Document.Value["components"]!["schemas"]![reference.Split('/')[^1]]?.AsObject();
        }
        return node as JsonObject;
    }

    /// <summary>A plausible value for each required property, so a probe of one property is not refused only for a missing other.</summary>
    private static Dictionary<string, JsonNode?> Required(JsonObject schema, JsonObject properties) =>
        (schema["required"]?.AsArray() ?? []).Select(r => r!.GetValue<string>()).Where(properties.ContainsKey).ToDictionary(r => r, JsonNode? (r) =>
        {
            var property = properties[r] is { } p ? Resolve(p) : null;
            return property?["enum"]?[0]?.DeepClone() ?? (TypeOf(property) switch
            {
                "string" => JsonValue.Create("Probe value"),
                "integer" or "number" => JsonValue.Create(1),
                "boolean" => JsonValue.Create(false),
                "array" => new JsonArray(),
                _ => new JsonObject(),
            });
        });

    /// <summary>The schema's type, the first that is not <c>null</c> when it lists several (OpenAPI 3.1).</summary>
    private static string? TypeOf(JsonNode? schema) => schema?["type"] switch
    {
        JsonValue one => one.GetValue<string>(),
        JsonArray many => many.Select(t => t!.GetValue<string>()).FirstOrDefault(t => t != "null"),
        _ => null,
    };

    /// <summary>
    /// The path with its parameters filled: a parameter's own entry in <paramref name="ids"/> first, else (for <c>{id}</c>)
    /// the entry whose key is the longest prefix of the path (<c>/api/v1/keys/</c>), else a fresh GUID that names nothing.
    /// </summary>
    private static string Fill(string path, IReadOnlyDictionary<string, string> ids) =>
        System.Text.RegularExpressions.Regex.Replace(path, @"\{(\w+)\}", m => ids.TryGetValue(m.Groups[1].Value, out var v) ? v
            : ids.Where(p => p.Key.StartsWith('/') && path.StartsWith(p.Key, StringComparison.Ordinal)).OrderByDescending(p => p.Key.Length)
                .Select(p => p.Value).FirstOrDefault() ?? Guid.NewGuid().ToString());

    /// <summary>The JSON with <c>~INVALID~</c> replaced by bytes that are not UTF-8 (a lone continuation, an overlong lead, a truncated sequence).</summary>
    private static ByteArrayContent InvalidUtf8(string json)
    {
        var halves = json.Split("~INVALID~", 2);
        return new ByteArrayContent([.. Encoding.UTF8.GetBytes(halves[0]), 0xFF, 0xC0, 0xAF, 0xE2, 0x82, .. Encoding.UTF8.GetBytes(halves[1])])
        {
            Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
        };
    }

    private static StringContent Json(string raw) => new(raw, Encoding.UTF8, "application/json");

    private static string Shorten(string text) => text.Length <= 240 ? text : text[..240] + "…";

    /// <summary>A signed-up tenant on the telephony plan with an assistant, a key, a webhook endpoint, a document and a campaign.</summary>
    private async Task<(SignedIn Tenant, Dictionary<string, string> Ids)> TenantWithOneOfEverythingAsync()
    {
        var tenant = await factory.SignUpAsync();
        await factory.SetPlanAsync(tenant.TenantId, "telephony");
        var client = tenant.Client;
        var assistant = (await (await client.PostAsJsonAsync("/api/v1/assistants", new { name = "Probe assistant" })).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>();
        var key = (await (await client.PostAsJsonAsync("/api/v1/keys", new { name = "Probe key" })).JsonAsync(HttpStatusCode.Created))["apiKey"]!["id"]!.GetValue<string>();
        var endpoint = (await (await client.PostAsJsonAsync("/api/v1/webhooks/endpoints", new { url = "http://127.0.0.1:9/probe", eventTypes = new[] { "call.ended" } }))
            .JsonAsync(HttpStatusCode.Created))["id"]?.GetValue<string>();
        var campaign = (await (await client.PostAsJsonAsync("/api/v1/campaigns", new { name = "Probe campaign", contactsCsv = "number,name\n+14385550166,Probe" }))
            .JsonAsync(HttpStatusCode.Created))["campaign"]!["id"]!.GetValue<string>();
        var ids = new Dictionary<string, string> { ["provider"] = "vapi", ["number"] = Uri.EscapeDataString("+14385550177"), ["userId"] = tenant.UserId.ToString() };
        foreach (var (prefix, id) in new[] { ("/api/v1/assistants/", assistant), ("/api/v1/keys/", key), ("/api/v1/webhooks/endpoints/", endpoint), ("/api/v1/campaigns/", campaign) })
        {
            ids[prefix] = id ?? Guid.NewGuid().ToString();
        }
        return (tenant, ids);
    }

    /// <summary>A hash per table of the rows whose <c>TenantId</c> is the tenant's (and its own row), order-independent.</summary>
    private Task<Dictionary<string, string>> TenantStateAsync(Guid tenantId) => factory.WithDbAsync(null, async db =>
    {
        var conn = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();
        try
        {
            var tables = new List<(string Table, string Column)>();
            await using (var cmd = conn.CreateCommand())
            {
                cmd.CommandText = TestDatabase.IsPostgres
                    ? "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND (column_name = 'TenantId' OR (table_name = 'tenants' AND column_name = 'Id'))"
                    : "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND (p.name = 'TenantId' OR (m.name = 'tenants' AND p.name = 'Id'))";
                await using var reader = await cmd.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    tables.Add((reader.GetString(0), reader.GetString(1)));
                }
            }
            var state = new Dictionary<string, string>();
            foreach (var (table, column) in tables)
            {
                await using var cmd = conn.CreateCommand();
                cmd.CommandText = $"SELECT * FROM \"{table}\" WHERE CAST(\"{column}\" AS {(TestDatabase.IsPostgres ? "text" : "TEXT")}) IN (@a, @b)";
                foreach (var (name, value) in new[] { ("@a", tenantId.ToString()), ("@b", tenantId.ToString().ToUpperInvariant()) })
                {
                    var p = cmd.CreateParameter();
                    p.ParameterName = name;
                    p.Value = value;
                    cmd.Parameters.Add(p);
                }
                var rows = new List<string>();
                await using var reader = await cmd.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => Cell(reader, i))));
                }
                rows.Sort(StringComparer.Ordinal);
                state[table] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", rows))));
            }
            return state;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    });

    private static string Cell(DbDataReader reader, int i) => reader.IsDBNull(i) ? "∅" : reader.GetValue(i) switch
    {
        byte[] bytes => Convert.ToHexString(bytes),
        var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
