using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// Feeds signatures made by <see cref="StandardWebhookSigner"/> to the official JavaScript
/// <c>standardwebhooks</c> library (tests/interop/standardwebhooks/verify.mjs), so our signer is
/// checked against a second implementation, not only against our own verifier.
/// </summary>
/// <remarks>
/// Needs Node 20+ and <c>npm ci --prefix tests/interop</c> (CI installs both). Without them the test
/// fails rather than passing silently; set <c>SWITCHBOARD_SKIP_INTEROP=1</c> to skip it on purpose.
/// </remarks>
[Trait("Category", "Interop")]
public sealed class StandardWebhooksInteropTests
{
    private const string SkipVariable = "SWITCHBOARD_SKIP_INTEROP";

    private const string InstallHint =
        "Run `npm ci --prefix tests/interop` from the repository root (Node 20+ required; CI does this), " +
        "or set " + SkipVariable + "=1 to skip the interop tests.";

    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task OfficialJavaScriptLibraryAcceptsOurSignaturesAndRejectsTamperedOnes()
    {
        if (Environment.GetEnvironmentVariable(SkipVariable) == "1")
        {
            return;
        }

        var interopDirectory = Path.Combine(Fixtures.RepositoryRoot, "tests", "interop");
        var script = Path.Combine(interopDirectory, "standardwebhooks", "verify.mjs");
        Assert.True(File.Exists(script), $"The interop script is missing at {script}.");
        if (!Directory.Exists(Path.Combine(interopDirectory, "node_modules", "standardwebhooks")))
        {
            Assert.Fail($"The standardwebhooks npm package is not installed in {interopDirectory}/node_modules. {InstallHint}");
        }

        // The library checks the timestamp against its own clock, so these must be signed with the real time.
        var now = TimeProvider.System.GetUtcNow();
        var cases = BuildCases(now);

        var results = await VerifyWithNodeAsync(script, interopDirectory, cases);

        Assert.Equal(cases.Count, results.Count);
        var mismatches = new List<string>();
        for (var i = 0; i < cases.Count; i++)
        {
            var (ok, error) = results[i];
            if (ok != cases[i].ExpectOk)
            {
                mismatches.Add($"'{cases[i].Name}': expected ok={cases[i].ExpectOk}, the library said ok={ok} {error}");
            }
            else if (!ok && !error.Contains("No matching signature found", StringComparison.Ordinal))
            {
                // A tampered message must fail on its signature, not on something incidental such as its timestamp.
                mismatches.Add($"'{cases[i].Name}': rejected for the wrong reason: {error}");
            }
        }
        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches));
    }

    private sealed record InteropCase(string Name, string VerifierSecret, string MsgId, string Timestamp, string Signature, string Body, bool ExpectOk);

    private static List<InteropCase> BuildCases(DateTimeOffset now)
    {
        var timestamp = StandardWebhookSigner.FormatTimestamp(now);
        var cases = new List<InteropCase>();

        void Add(string name, string signingSecret, string verifierSecret, string msgId, string body, bool expectOk = true) =>
            cases.Add(new(name, verifierSecret, msgId, timestamp, StandardWebhookSigner.Sign(signingSecret, msgId, now, Encoding.UTF8.GetBytes(body)), body, expectOk));

        var secret = StandardWebhookSigner.GenerateSecret();
        Add("thin JSON event", secret, secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "{\"type\":\"call.completed\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"data\":{\"callId\":\"call_123\"}}");

        const string unicodeBody = "{\"type\":\"transcript.ready\",\"data\":{\"text\":\"Grüß dich — こんにちは — مرحبا — 🎉📞\"}}";
        Add("unicode body", secret, secret, "msg_unicode", unicodeBody);
        Add("empty body", secret, secret, "msg_empty", "");

        const string unprefixedSecret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        Add("secret without whsec_ prefix", unprefixedSecret, unprefixedSecret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "{\"test\": 2432232314}");

        // Rotation: one header signed by the old and the new secret; a consumer holding either accepts it.
        var oldSecret = StandardWebhookSigner.GenerateSecret();
        var newSecret = StandardWebhookSigner.GenerateSecret();
        const string rotationBody = "{\"type\":\"call.completed\",\"data\":{\"callId\":\"call_rotation\",\"note\":\"Zoë’s 📞\"}}";
        var rotationHeader = StandardWebhookSigner.SignAll([oldSecret, newSecret], "msg_rotation", now, Encoding.UTF8.GetBytes(rotationBody));
        cases.Add(new("rotation, consumer still on the old secret", oldSecret, "msg_rotation", timestamp, rotationHeader, rotationBody, true));
        cases.Add(new("rotation, consumer already on the new secret", newSecret, "msg_rotation", timestamp, rotationHeader, rotationBody, true));
        cases.Add(new("rotation, consumer on an unrelated secret", StandardWebhookSigner.GenerateSecret(), "msg_rotation", timestamp, rotationHeader, rotationBody, false));

        // Tampered: a valid signature paired with a body that differs by one byte.
        var plain = cases[0];
        var unicode = cases[1];
        cases.Add(plain with { Name = "tampered body", Body = plain.Body.Replace("call_123", "call_124", StringComparison.Ordinal), ExpectOk = false });
        cases.Add(unicode with { Name = "tampered unicode body", Body = unicode.Body.Replace("🎉", "🎊", StringComparison.Ordinal), ExpectOk = false });
        return cases;
    }

    private static async Task<List<(bool Ok, string Error)>> VerifyWithNodeAsync(string script, string workingDirectory, List<InteropCase> cases)
    {
        var input = new StringBuilder();
        foreach (var c in cases)
        {
            var line = new JsonObject
            {
                ["secret"] = c.VerifierSecret,
                ["headers"] = new JsonObject
                {
                    [StandardWebhookSigner.IdHeader] = c.MsgId,
                    [StandardWebhookSigner.TimestampHeader] = c.Timestamp,
                    [StandardWebhookSigner.SignatureHeader] = c.Signature,
                },
                ["body"] = c.Body,
            };
            input.Append(line.ToJsonString()).Append('\n');
        }

        var startInfo = new ProcessStartInfo("node")
        {
            ArgumentList = { script },
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };

        Process? process = null;
        try
        {
            process = Process.Start(startInfo);
        }
        catch (Win32Exception ex)
        {
            Assert.Fail($"Could not start `node` ({ex.Message}). {InstallHint}");
        }
        Assert.NotNull(process);

        using (process)
        {
            using var timeout = new CancellationTokenSource(NodeTimeout);
            try
            {
                var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
                var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
                await process.StandardInput.WriteAsync(input, timeout.Token);
                process.StandardInput.Close();
                await process.WaitForExitAsync(timeout.Token);

                var output = await stdout;
                var errors = await stderr;
                Assert.True(process.ExitCode == 0, $"verify.mjs exited with {process.ExitCode}: {errors}");

                return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(ParseResult)
                    .ToList();
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"verify.mjs did not answer within {NodeTimeout.TotalSeconds} s.");
                throw;
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

    private static (bool Ok, string Error) ParseResult(string line)
    {
        using var result = JsonDocument.Parse(line);
        var ok = result.RootElement.GetProperty("ok").GetBoolean();
        var error = result.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? "" : "";
        return (ok, error);
    }
}
