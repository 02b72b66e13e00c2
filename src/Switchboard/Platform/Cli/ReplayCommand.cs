using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Vapi;

namespace Switchboard.Platform.Cli;

/// <summary>
/// <c>switchboard replay --tenant &lt;id&gt; [--url http://localhost:8080] [--secret S] [--fresh-ids] file.json…</c>:
/// signs saved Vapi payloads with the tenant's webhook secret (HMAC-SHA256, <c>x-vapi-signature: sha256=&lt;hex&gt;</c>)
/// and posts them to a running server. <c>.jsonc</c> documentation examples are made strict first;
/// <c>--fresh-ids</c> gives each file a new <c>call.id</c> so a replay makes a new call.
/// </summary>
internal static class ReplayCommand
{
    /// <summary>Parsed options (<see cref="SwitchboardCli"/>): the tenant, the server, the secret, fresh ids, the files.</summary>
    internal sealed record Options(Guid TenantId, string? Url, string? Secret, bool FreshIds, IReadOnlyList<string> Files);

    public static async Task<int> RunAsync(IServiceProvider services, Options options, CancellationToken ct)
    {
        var (tenantId, url, secret, fresh, files) = options;
        url ??= (Environment.GetEnvironmentVariable("ASPNETCORE_URLS")?.Split(';')[0] ?? "http://localhost:8080").Replace("://+", "://localhost").Replace("://*", "://localhost").Replace("://0.0.0.0", "://localhost");
        if (secret is null)
        {
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var row = await db.Tenants.AsNoTracking().FirstOrDefaultAsync(t => t.Id == tenantId, ct);
            secret = scope.ServiceProvider.GetRequiredService<SecretProtector>().Unprotect(row?.VapiWebhookSecretProtected);
            if (secret is null)
            {
                Console.Error.WriteLine($"replay: tenant {tenantId} not found in the local database; pass --secret.");
                return 2;
            }
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var failures = 0;
        foreach (var file in files)
        {
            if (!File.Exists(file))
            {
                Console.Error.WriteLine($"{file}: not found");
                failures++;
                continue;
            }
            var node = Jsonc.Parse(await File.ReadAllTextAsync(file, ct));
            if (fresh && node["message"] is JsonObject message)
            {
                if (message["call"] is not JsonObject call)
                {
                    message["call"] = call = new JsonObject();
                }
                call["id"] = Guid.NewGuid().ToString();
            }
            var body = Encoding.UTF8.GetBytes(node.ToJsonString());
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{url.TrimEnd('/')}/webhooks/vapi/{tenantId}")
            {
                Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } },
            };
            request.Headers.Add("x-vapi-signature", "sha256=" + VapiSignatureVerifier.Sign(body, secret));
            var watch = Stopwatch.StartNew();
            try
            {
                using var response = await http.SendAsync(request, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                Console.WriteLine($"{Path.GetFileName(file)} -> {(int)response.StatusCode} in {watch.ElapsedMilliseconds} ms: {(text.Length > 400 ? text[..400] + "…" : text)}");
                failures += response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (HttpRequestException e)
            {
                Console.Error.WriteLine($"{file}: cannot reach {url}: {e.Message}. Is ./switchboard running?");
                failures++;
            }
        }
        return failures == 0 ? 0 : 1;
    }
}
