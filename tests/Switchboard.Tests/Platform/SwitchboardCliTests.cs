using System.Diagnostics;
using System.Text.Json.Nodes;
using Switchboard.Platform.Cli;
using Switchboard.Tests.Support;
using Switchboard.Vapi;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The command line (System.CommandLine): parsing, --help, bad options (exit code 2, a message, no stack trace), and
/// commands run end to end as the real binary (<c>dotnet Switchboard.dll …</c>) in a scratch directory with its own
/// SQLite database, as README.md runs them.
/// </summary>
public sealed class SwitchboardCliTests : IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("switchboard-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(scratch, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static (int? Exit, string Output, string Error, SwitchboardCli Cli) Parse(params string[] args)
    {
        var cli = SwitchboardCli.Parse(args);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = cli.Exit(output, error);
        return (exit, output.ToString(), error.ToString(), cli);
    }

    [Fact]
    public void ReadmeCommandsParseAsWritten()
    {
        var tenant = "6d0a1c8e-2f4b-4c1a-9e57-d1a9f0a7c001";
        var replay = Parse("replay", "--tenant", tenant, "--fresh-ids", "../shared/fixtures/vapi/end-of-call-report.2024-07.json");
        Assert.True(replay.Exit is null, replay.Error);
        Assert.Equal("replay", replay.Cli.Command);
        Assert.Equal(Guid.Parse(tenant), replay.Cli.Result.GetValue<Guid>("--tenant"));
        Assert.True(replay.Cli.Result.GetValue<bool>("--fresh-ids"));
        Assert.Equal(["../shared/fixtures/vapi/end-of-call-report.2024-07.json"], replay.Cli.Result.GetValue<string[]>("files")!);
        Assert.Empty(replay.Cli.HostArgs);

        var call = Parse("simulate-call", "--tenant", tenant, "--script", "samples/flood-call.json");
        Assert.True(call.Exit is null, call.Error);
        Assert.Equal("http://localhost:8080", call.Cli.Result.GetValue<string>("--url"));
        Assert.Equal(8091, call.Cli.Result.GetValue<int>("--provider-port"));

        Assert.Null(Parse("simulate-chat", "--key", "pk_live_x", "--script", "samples/flood-chat.json").Exit);
        Assert.Null(Parse("grant-operator", "you@example.com").Exit);
        Assert.Null(Parse("grant-operator", "you@example.com", "--revoke").Exit);
        foreach (var plain in new[] { "migrate", "seed-demo", "schema-script", "serve" })
        {
            var parsed = Parse(plain);
            Assert.True(parsed.Exit is null, plain + ": " + parsed.Error);
            Assert.Equal(plain, parsed.Cli.Command);
        }

        // No command is serve; the host's own arguments pass through to its configuration.
        var serve = Parse("--urls", "http://127.0.0.1:5005", "--Switchboard:Demo:SeedOnEmptyDatabase=false");
        Assert.True(serve.Exit is null, serve.Error);
        Assert.Equal("serve", serve.Cli.Command);
        Assert.Equal(["--urls", "http://127.0.0.1:5005", "--Switchboard:Demo:SeedOnEmptyDatabase=false"], serve.Cli.HostArgs);
        Assert.Equal("serve", Parse().Cli.Command);
    }

    [Theory]
    [InlineData("switchboard: unknown command 'bogus'", "bogus")]
    [InlineData("switchboard replay: Cannot parse argument 'nope' for option '--tenant'", "replay", "--tenant", "nope", "a.json")]
    [InlineData("switchboard replay: Option '--tenant' is required.", "replay", "a.json")]
    [InlineData("switchboard replay: Required argument missing", "replay", "--tenant", "6d0a1c8e-2f4b-4c1a-9e57-d1a9f0a7c001")]
    [InlineData("switchboard simulate-call: Cannot parse argument 'abc' for option '--provider-port'", "simulate-call", "--tenant", "6d0a1c8e-2f4b-4c1a-9e57-d1a9f0a7c001", "--script", "a.json", "--provider-port", "abc")]
    [InlineData("switchboard grant-operator: Required argument missing", "grant-operator")]
    [InlineData("switchboard grant-operator: '--bogus' is not an email address.", "grant-operator", "--bogus")]
    [InlineData("switchboard migrate: Unrecognized option or argument '--what'", "migrate", "--what")]
    public void BadArgumentsExitWithCodeTwoAndSayWhy(string expected, params string[] args)
    {
        var parsed = Parse(args);
        Assert.True(parsed.Exit == 2, parsed.Error);
        Assert.Contains(expected, parsed.Error);
        Assert.Contains("--help' for usage", parsed.Error);
        Assert.DoesNotContain("   at ", parsed.Error);
    }

    [Theory]
    [InlineData("replay", "--fresh-ids")]
    [InlineData("simulate-call", "--no-provider")]
    [InlineData("simulate-chat", "--serve-model")]
    [InlineData("grant-operator", "--revoke")]
    [InlineData("migrate", "Apply the database migrations")]
    [InlineData("seed-demo", "demo tenant")]
    [InlineData("schema-script", "DDL")]
    [InlineData("serve", "--urls")]
    public void EveryCommandHasHelp(string command, string expected)
    {
        var parsed = Parse(command, "--help");
        Assert.Equal(0, parsed.Exit);
        Assert.Contains(expected, parsed.Output);
        var all = Parse("--help");
        Assert.Equal(0, all.Exit);
        Assert.Contains(command, all.Output);
    }

    private async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = scratch,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Switchboard.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["Switchboard__Database__Provider"] = "sqlite";
        start.Environment.Remove("Switchboard__Database__ConnectionString");
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    [Fact]
    [Trait("Category", "Cli")]
    public async Task MigrateThenGrantOperatorRunAsTheBinary()
    {
        var migrated = await RunAsync("migrate");
        Assert.True(migrated.Code == 0, migrated.Error);
        Assert.Contains("Applied: 0001_initial", migrated.Output);
        Assert.True(File.Exists(Path.Combine(scratch, "data", "switchboard.db")), "no data/switchboard.db in the working directory");
        var again = await RunAsync("migrate");
        Assert.Contains("Database is up to date.", again.Output);

        var nobody = await RunAsync("grant-operator", "Nobody@Example.com");
        Assert.Equal(1, nobody.Code);
        Assert.Contains("No user nobody@example.com", nobody.Error);

        var bad = await RunAsync("grant-operator", "--bogus");
        Assert.Equal(2, bad.Code);
        Assert.DoesNotContain("Unhandled exception", bad.Error);

        var ddl = await RunAsync("schema-script");
        Assert.Equal(0, ddl.Code);
        Assert.Contains("CREATE TABLE", ddl.Output);
    }

    [Fact]
    [Trait("Category", "Cli")]
    public async Task ReplaySignsTheFileWithTheSecretAndGivesItAFreshCallId()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = Guid.NewGuid();
        var file = Path.Combine(scratch, "report.json");
        await File.WriteAllTextAsync(file, """{"message":{"type":"end-of-call-report","call":{"id":"call-fixed"}}}""");
        var replay = await RunAsync("replay", "--tenant", tenant.ToString(), "--secret", "whsec-test-secret", "--url", receiver.BaseUrl, "--fresh-ids", file);
        Assert.True(replay.Code == 0, replay.Output + replay.Error);
        Assert.Contains("report.json -> 200", replay.Output);

        var received = Assert.Single(receiver.Requests);
        Assert.Equal($"/webhooks/vapi/{tenant}", received.Path);
        Assert.Equal("sha256=" + VapiSignatureVerifier.Sign(received.Body, "whsec-test-secret"), received.Headers["x-vapi-signature"]);
        Assert.NotEqual("call-fixed", JsonNode.Parse(received.Text)!["message"]!["call"]!["id"]!.GetValue<string>());

        var missing = await RunAsync("replay", "--tenant", tenant.ToString(), "--secret", "s", "--url", receiver.BaseUrl, "nope.json");
        Assert.Equal(1, missing.Code);
        Assert.Contains("nope.json: not found", missing.Error);
    }
}
