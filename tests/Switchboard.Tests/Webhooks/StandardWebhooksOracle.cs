using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// Verifies captured deliveries twice: with our own <see cref="StandardWebhookSigner"/> and with the official
/// npm <c>standardwebhooks</c> library (tests/interop/standardwebhooks/verify.mjs), each at the moment of receipt
/// (the delivery's own <c>webhook-timestamp</c>, which comes from the host's injected clock). The npm check is
/// skipped only when <c>SWITCHBOARD_SKIP_INTEROP=1</c> (the PostgreSQL suite); without Node it fails.
/// </summary>
internal static class StandardWebhooksOracle
{
    public static bool InteropEnabled => Environment.GetEnvironmentVariable("SWITCHBOARD_SKIP_INTEROP") != "1";

    /// <summary>Asserts every delivery verifies with <paramref name="secret"/> in both implementations.</summary>
    public static async Task AssertAllVerifyAsync(string secret, IEnumerable<WebhookReceiver.Received> deliveries)
    {
        var list = deliveries.ToList();
        Assert.NotEmpty(list);
        foreach (var r in list)
        {
            var result = StandardWebhookSigner.Verify(secret, r.Headers, r.Body, DateTimeOffset.FromUnixTimeSeconds(r.Timestamp), StandardWebhookSigner.DefaultTolerance);
            Assert.True(result == VerifyResult.Valid, $"Our verifier says {result} for {r.Id}");
        }
        var npm = await VerifyWithLibraryAsync(list.Select(r => (secret, r)).ToList());
        if (npm is not null)
        {
            var failures = npm.Select((x, i) => (x, i)).Where(p => !p.x.Ok).Select(p => $"{list[p.i].Id} ({list[p.i].Type}): {p.x.Error}").ToList();
            Assert.True(failures.Count == 0, "standardwebhooks rejected: " + string.Join("; ", failures));
        }
    }

    /// <summary>The library's verdict per (secret, delivery); null when interop is skipped on purpose.</summary>
    public static async Task<List<(bool Ok, string Error)>?> VerifyWithLibraryAsync(IReadOnlyList<(string Secret, WebhookReceiver.Received Delivery)> cases)
    {
        if (!InteropEnabled)
        {
            return null;
        }
        var directory = Path.Combine(Fixtures.RepositoryRoot, "tests", "interop");
        var script = Path.Combine(directory, "standardwebhooks", "verify.mjs");
        Assert.True(Directory.Exists(Path.Combine(directory, "node_modules", "standardwebhooks")),
            "Run `npm ci --prefix tests/interop` (Node 20+), or set SWITCHBOARD_SKIP_INTEROP=1.");

        var input = new StringBuilder();
        foreach (var (secret, d) in cases)
        {
            var headers = new JsonObject();
            foreach (var name in new[] { StandardWebhookSigner.IdHeader, StandardWebhookSigner.TimestampHeader, StandardWebhookSigner.SignatureHeader })
            {
                if (d.Headers.TryGetValue(name, out var value))
                {
                    headers[name] = value;
                }
            }
            input.Append(new JsonObject { ["secret"] = secret, ["headers"] = headers, ["body"] = d.Text, ["now"] = d.Timestamp }.ToJsonString()).Append('\n');
        }

        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { script },
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        Process? process = null;
        try
        {
            process = Process.Start(start);
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"Could not start node ({e.Message}); install Node 20+ or set SWITCHBOARD_SKIP_INTEROP=1.");
        }
        Assert.NotNull(process);
        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
                var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
                await process.StandardInput.WriteAsync(input, timeout.Token);
                process.StandardInput.Close();
                await process.WaitForExitAsync(timeout.Token);
                Assert.True(process.ExitCode == 0, $"verify.mjs exited with {process.ExitCode}: {await stderr}");
                return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
                {
                    using var doc = JsonDocument.Parse(line);
                    return (doc.RootElement.GetProperty("ok").GetBoolean(),
                        doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? "" : "");
                }).ToList();
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }
}
