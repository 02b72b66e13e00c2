using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;
using Switchboard.Vapi;

namespace Switchboard.Tests.Reliability;

/// <summary>
/// Shared pieces of the bad-input tests: the probe's nasty JSON values (as raw bytes, so they can hold what a
/// serializer would never write: invalid UTF-8, <c>1e400</c>), raw signed posts, and the "stays readable" checks.
/// </summary>
internal static class BadInput
{
    private static readonly string Deep60Arrays = new string('[', 60) + new string(']', 60);
    private static readonly string Deep60Objects = string.Concat(Enumerable.Repeat("{\"a\":", 59)) + "{}" + new string('}', 59);

    /// <summary>The 34 values of the outside probe (reliability-2026-11-30 §1.1) plus invalid UTF-8 and long strings.</summary>
    public static readonly byte[][] NastyValues =
    [
        .. new[]
        {
            "null", "true", "false", "0", "-1", "1.5", "1.79e308", "-1.79e308", "1e400", "-1e400", "123456789012345678901234567890123456789",
            "1e29", "-0", "\"\"", "\" \"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e400\"", "\"-1e400\"",
            "\"0001-01-01T00:00:00+14:00\"", "\"9999-12-31T23:59:59-14:00\"", "\"2026-13-45T25:61:61Z\"", "\"\\u0000\"", "\"a\\u0000b\"",
            "\"\\ud800\"", "\"x\\udc00\"", "\"\\ud83d\\ude00 \\u202e\\u0645\\u0631\\u062d\\u0628\\u0627\"", "\"<script>alert(1)</script>\"",
            "\"'; DROP TABLE calls; --\"", "\"" + new string('x', 2048) + "\"", "\"" + string.Concat(Enumerable.Repeat("\\ud83d\\ude00", 60)) + "\"",
            "{}", "[]", "[null]", "[1,\"a\",{},null,[true]]", Deep60Arrays, Deep60Objects, "\"" + new string('L', 101) + "\"",
            "\"{\\\"name\\\":\\\"\\\\ud800\\\",\\\"phone\\\":\\\"\\\\u0000\\\"}\"", // JSON in a string, with bad text inside
        }.Select(Encoding.UTF8.GetBytes),
        [(byte)'"', (byte)'+', (byte)'1', (byte)'5', (byte)'1', (byte)'4', 0xFF, (byte)'"'],
        [(byte)'"', 0xC3, 0x28, (byte)'"'],
        [(byte)'"', 0xED, 0xA0, 0x80, (byte)'"'],
        [(byte)'"', 0xF0, 0x9F, 0x98, (byte)'"'],
    ];

    public static Task<HttpResponseMessage> PostVapiBytesAsync(SwitchboardFactory factory, TestTenant tenant, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/vapi/{tenant.Id}")
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.Add("x-vapi-signature", "sha256=" + VapiSignatureVerifier.Sign(body, tenant.WebhookSecret));
        return factory.CreateClient().SendAsync(request);
    }

    /// <summary>A 4xx carries the error envelope; anything else must be 2xx.</summary>
    public static async Task AssertNoServerErrorAsync(HttpResponseMessage response, string what)
    {
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status < 500, $"{what}: {status} {text}");
        if (status >= 400)
        {
            Assert.Contains("\"error\"", text);
        }
    }

    /// <summary>GET that must answer 200 with a whole JSON document.</summary>
    public static async Task<JsonDocument> GetJsonAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {text[..Math.Min(text.Length, 500)]}");
        return JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 512 });
    }

    /// <summary>Every calls page, every call's detail, and the export answer 200 with whole JSON documents.</summary>
    public static async Task AssertEverythingReadableAsync(SwitchboardFactory factory, TestTenant tenant)
    {
        var api = factory.ApiClient(tenant);
        var ids = await factory.WithDbAsync(tenant.Id, db => db.Calls.Select(c => c.Id).ToListAsync());
        foreach (var id in ids)
        {
            (await GetJsonAsync(api, $"/api/v1/calls/{id}")).Dispose();
        }
        for (var page = 1; page <= ids.Count / 100 + 1; page++)
        {
            (await GetJsonAsync(api, $"/api/v1/calls?page={page}&pageSize=100")).Dispose();
        }
        (await GetJsonAsync(api, "/api/v1/sms")).Dispose();
        using var export = await GetJsonAsync(api, "/api/v1/export");
        Assert.Equal(ids.Count, export.RootElement.GetProperty("calls").GetArrayLength());
    }
}
