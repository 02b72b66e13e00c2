using System.CommandLine;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Realtime;
using Switchboard.Simulators;

namespace Switchboard.Platform.Cli;

/// <summary>
/// The command line of the one binary (System.CommandLine): <c>serve</c> (the default; every other argument goes to
/// the host's configuration, e.g. <c>--urls</c>), <c>migrate</c>, <c>seed-demo</c>, <c>replay</c>, <c>simulate-call</c>,
/// <c>simulate-chat</c>, <c>schema-script</c>, <c>grant-operator</c>, <c>stripe-setup</c>, <c>billing-reconcile</c> and
/// <c>simulate-stripe</c>, each with <c>--help</c>. It is parsed before
/// the host is built: a parse error (unknown command or option, missing or malformed value) prints the problem and a
/// hint on stderr and exits with code 2, never a stack trace; <c>--help</c> and <c>--version</c> print and exit 0.
/// </summary>
internal sealed class SwitchboardCli
{
    private const string DefaultUrl = "http://localhost:8080";

    private readonly RootCommand root = new("Switchboard: the AI receptionist server (default: serve) and its operator commands.");
    private readonly Command serve = new("serve", "Serve the API, webhooks and dashboard (the default). Other arguments go to the host's configuration, e.g. --urls http://localhost:8080.");
    private readonly Command migrate = new("migrate", "Apply the database migrations and exit.");
    private readonly Command seedDemo = new("seed-demo", "Apply the migrations, seed the demo tenant and print its credentials.");
    private readonly Command schemaScript = new("schema-script", "Print the DDL the EF model implies for the configured provider (the start of a hand-written migration).");

    private readonly Command replay = new("replay", "Sign saved Vapi payloads with the tenant's webhook secret and post them to a running server.");
    private readonly Option<Guid> replayTenant = new("--tenant") { Description = "The tenant's id.", Required = true };
    private readonly Option<string?> replayUrl = new("--url") { Description = "The server (default: the first ASPNETCORE_URLS, else http://localhost:8080)." };
    private readonly Option<string?> replaySecret = new("--secret") { Description = "The tenant's Vapi webhook secret (default: read from the local database)." };
    private readonly Option<bool> replayFresh = new("--fresh-ids") { Description = "Give each payload a new call.id, so a replay makes a new call." };
    private readonly Argument<string[]> replayFiles = new("files") { Description = "Vapi server messages (.json, or .jsonc documentation examples).", Arity = ArgumentArity.OneOrMore };

    private readonly Command simulateCall = new("simulate-call", "Place a simulated native call (Twilio + realtime provider simulators) against a running server.");
    private readonly Option<Guid> callTenant = new("--tenant") { Description = "The tenant's id.", Required = true };
    private readonly Option<string?> callScript = new("--script") { Description = "The call script, e.g. samples/flood-call.json (required for an inbound call)." };
    private readonly Option<bool> callOutbound = new("--outbound") { Description = "Place an outbound call with voicemail detection through the Twilio Calls API simulator (the server's Switchboard__Twilio__ApiBaseUrl must point at it)." };
    private readonly Option<string> callTo = new("--to") { Description = "Outbound: the number called.", DefaultValueFactory = _ => "+15145550123" };
    private readonly Option<string> callCallee = new("--callee") { Description = "Outbound: who answers: human, machine, busy or no-answer.", DefaultValueFactory = _ => "machine" };
    private readonly Option<int> callCallsPort = new("--calls-port") { Description = "Outbound: port of the Twilio Calls API simulator on 127.0.0.1.", DefaultValueFactory = _ => 8093 };
    private readonly Option<string> callUrl = new("--url") { Description = "The server.", DefaultValueFactory = _ => DefaultUrl };
    private readonly Option<string?> callToken = new("--auth-token") { Description = "The tenant's Twilio auth token (default: read from the local database)." };
    private readonly Option<int> callPort = new("--provider-port") { Description = "Port of the realtime provider simulator on 127.0.0.1.", DefaultValueFactory = _ => RealtimeOptions.SimulatorPort };
    private readonly Option<bool> callNoProvider = new("--no-provider") { Description = "Do not start the realtime provider simulator (one is already running)." };

    private readonly Command simulateChat = new("simulate-chat", "Chat as a website visitor through the widget's endpoints, or (--serve-model) run the chat model simulator.");
    private readonly Option<string?> chatKey = new("--key") { Description = "The tenant's publishable key (pk_live_…)." };
    private readonly Option<string> chatUrl = new("--url") { Description = "The server.", DefaultValueFactory = _ => DefaultUrl };
    private readonly Option<string?> chatOrigin = new("--origin") { Description = "The Origin header (default: the server's own)." };
    private readonly Option<string?> chatScript = new("--script") { Description = "The chat script, e.g. samples/flood-chat.json." };
    private readonly Option<string?> chatMessage = new("--message") { Description = "One message instead of a script." };
    private readonly Option<bool> chatServeModel = new("--serve-model") { Description = "Run the OpenAI-compatible chat model simulator until Ctrl+C." };
    private readonly Option<int> chatPort = new("--port") { Description = "Port of the chat model simulator.", DefaultValueFactory = _ => ChatModelSimulator.DefaultPort };

    private readonly Command grantOperator = new("grant-operator", "Make an existing user an operator of the installation (or no longer one).");
    private readonly Argument<string> grantEmail = new("email") { Description = "The user's email." };
    private readonly Option<bool> grantRevoke = new("--revoke") { Description = "Revoke instead of grant." };

    private readonly Command stripeSetup = new("stripe-setup", "Create (idempotently) the Stripe products, prices, meters and webhook endpoint for the plans, and print them.");
    private readonly Option<string?> stripeWebhookUrl = new("--webhook-url") { Description = "The webhook endpoint's URL (default: the public URL + /webhooks/stripe)." };

    private readonly Command billingReconcile = new("billing-reconcile", "Compare a month's usage with Stripe's meter summaries now and print the drift (exit 1 on drift).");
    private readonly Argument<string?> reconcilePeriod = new("period") { Description = "The month, yyyy-MM (default: this one).", Arity = ArgumentArity.ZeroOrOne };

    private readonly Command simulateStripe = new("simulate-stripe", "Run the fake Stripe on 127.0.0.1 until Ctrl+C (for trying billing without a Stripe account).");
    private readonly Option<int> stripePort = new("--port") { Description = "Port of the fake Stripe.", DefaultValueFactory = _ => StripeSimulator.DefaultPort };

    private SwitchboardCli()
    {
        stripeSetup.Options.Add(stripeWebhookUrl);
        billingReconcile.Arguments.Add(reconcilePeriod);
        simulateStripe.Options.Add(stripePort);
        // The host's own arguments (--urls, --environment, --Key=Value…) pass through to serve.
        root.TreatUnmatchedTokensAsErrors = false;
        serve.TreatUnmatchedTokensAsErrors = false;
        // Serving is run by Program.cs once the host is built; these actions only mark "no command needed".
        root.SetAction(_ => 0);
        serve.SetAction(_ => 0);
        replay.Options.Add(replayTenant);
        replay.Options.Add(replayUrl);
        replay.Options.Add(replaySecret);
        replay.Options.Add(replayFresh);
        replay.Arguments.Add(replayFiles);
        simulateCall.Options.Add(callTenant);
        simulateCall.Options.Add(callScript);
        simulateCall.Options.Add(callUrl);
        simulateCall.Options.Add(callToken);
        simulateCall.Options.Add(callPort);
        simulateCall.Options.Add(callNoProvider);
        simulateCall.Options.Add(callOutbound);
        simulateCall.Options.Add(callTo);
        simulateCall.Options.Add(callCallee);
        simulateCall.Options.Add(callCallsPort);
        foreach (var option in new Option[] { chatKey, chatUrl, chatOrigin, chatScript, chatMessage, chatServeModel, chatPort })
        {
            simulateChat.Options.Add(option);
        }
        grantEmail.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } email && (email.StartsWith('-') || !email.Contains('@')))
            {
                result.AddError($"'{email}' is not an email address.");
            }
        });
        grantOperator.Arguments.Add(grantEmail);
        grantOperator.Options.Add(grantRevoke);
        foreach (var command in new[] { serve, migrate, seedDemo, replay, simulateCall, simulateChat, schemaScript, grantOperator, stripeSetup, billingReconcile, simulateStripe })
        {
            root.Subcommands.Add(command);
        }
    }

    /// <summary>The parsed command line.</summary>
    public ParseResult Result { get; private set; } = null!;

    /// <summary>The command's name: <c>serve</c> when none was given.</summary>
    public string Command => Result.CommandResult.Command == root ? "serve" : Result.CommandResult.Command.Name;

    /// <summary>The arguments handed to the host's configuration (serve only; none for other commands).</summary>
    public string[] HostArgs => Command == "serve" ? [.. Result.UnmatchedTokens] : [];

    /// <summary>Parses <paramref name="args"/>; see <see cref="Exit"/> for what ends the process before the host is built.</summary>
    public static SwitchboardCli Parse(string[] args)
    {
        var cli = new SwitchboardCli();
        cli.Result = cli.root.Parse(args);
        return cli;
    }

    /// <summary>
    /// The exit code when the process ends before the host is built: 2 after a parse error (written to
    /// <paramref name="error"/> with a hint), 0 after <c>--help</c> or <c>--version</c> (written to
    /// <paramref name="output"/>); null when the command should run.
    /// </summary>
    public int? Exit(TextWriter output, TextWriter error)
    {
        // An unknown first word is an unknown command, not a host argument (before: "Unknown command 'x'", exit 2).
        if (Command == "serve" && Result.CommandResult.Command == root && Result.Tokens.Count > 0 && Result.UnmatchedTokens.Count > 0
            && Result.Tokens[0].Value == Result.UnmatchedTokens[0] && !Result.UnmatchedTokens[0].StartsWith('-'))
        {
            error.WriteLine($"switchboard: unknown command '{Result.UnmatchedTokens[0]}'. Commands: serve (default), migrate, seed-demo, replay, simulate-call, simulate-chat, schema-script, grant-operator, stripe-setup, billing-reconcile, simulate-stripe.");
            error.WriteLine("Run 'switchboard --help' for usage.");
            return 2;
        }
        // The root lets unmatched tokens through (for serve); every other command refuses them.
        var unmatched = Command == "serve" ? [] : Result.UnmatchedTokens.Select(t => $"Unrecognized option or argument '{t}'.");
        var problems = Result.Errors.Select(e => e.Message).Concat(unmatched).ToList();
        if (problems.Count > 0)
        {
            var name = Command == "serve" ? "switchboard" : $"switchboard {Command}";
            foreach (var problem in problems)
            {
                error.WriteLine($"{name}: {problem}");
            }
            error.WriteLine($"Run '{name} --help' for usage.");
            return 2;
        }
        if (Result.Action is not null && Result.Action != root.Action && Result.Action != serve.Action)
        {
            // --help or --version: System.CommandLine's own actions print them.
            return Result.Invoke(new InvocationConfiguration { Output = output, Error = error }) == 0 ? 0 : 2;
        }
        return null;
    }

    /// <summary>Runs a command other than <c>serve</c> on the built host's services; returns the process exit code.</summary>
    public async Task<int> RunAsync(WebApplication app, CancellationToken ct)
    {
        var r = Result;
        switch (Command)
        {
            case "migrate":
                var applied = await app.Services.GetRequiredService<Migrator>().MigrateAsync(ct);
                Console.WriteLine(applied.Count == 0 ? "Database is up to date." : $"Applied: {string.Join(", ", applied)}");
                return 0;
            case "seed-demo":
                await app.Services.GetRequiredService<Migrator>().MigrateAsync(ct);
                await using (var scope = app.Services.CreateAsyncScope())
                {
                    var seeded = await scope.ServiceProvider.GetRequiredService<DemoSeeder>().SeedAsync(ct);
                    Banner.PrintDemo(seeded, null, app.Environment);
                }
                return 0;
            case "replay":
                return await ReplayCommand.RunAsync(app.Services, new ReplayCommand.Options(
                    r.GetValue(replayTenant), r.GetValue(replayUrl), r.GetValue(replaySecret), r.GetValue(replayFresh), r.GetValue(replayFiles) ?? []), ct);
            case "simulate-call" when r.GetValue(callOutbound):
                return await SimulateOutboundCallCommand.RunAsync(app.Services, new SimulateOutboundCallCommand.Options(
                    r.GetValue(callTenant), r.GetValue(callTo)!, r.GetValue(callCallee)!, r.GetValue(callScript), r.GetValue(callUrl)!, r.GetValue(callCallsPort),
                    r.GetValue(callPort), r.GetValue(callNoProvider)), ct);
            case "simulate-call" when r.GetValue(callScript) is null:
                Console.Error.WriteLine("simulate-call: --script is required (or --outbound).");
                return 2;
            case "simulate-call":
                return await SimulateCallCommand.RunAsync(app.Services, new SimulateCallCommand.Options(
                    r.GetValue(callTenant), r.GetValue(callScript)!, r.GetValue(callUrl)!, r.GetValue(callToken), r.GetValue(callPort), r.GetValue(callNoProvider)), ct);
            case "simulate-chat":
                return await SimulateChatCommand.RunAsync(new SimulateChatCommand.Options(
                    r.GetValue(chatKey), r.GetValue(chatUrl)!, r.GetValue(chatOrigin), r.GetValue(chatScript), r.GetValue(chatMessage), r.GetValue(chatServeModel), r.GetValue(chatPort)), ct);
            case "grant-operator":
                return await GrantOperatorCommand.RunAsync(app.Services, r.GetValue(grantEmail)!, r.GetValue(grantRevoke), ct);
            case "stripe-setup":
                return await Billing.StripeSetupCommand.RunAsync(app.Services, r.GetValue(stripeWebhookUrl) is { } url ? ["--webhook-url", url] : [], Console.Out, ct);
            case "billing-reconcile":
                return await Billing.BillingReconcileCommand.RunAsync(app.Services, r.GetValue(reconcilePeriod) is { } period ? [period] : [], ct);
            case "simulate-stripe":
                return await SimulateStripeCommand.RunAsync(["--port", r.GetValue(stripePort).ToString(System.Globalization.CultureInfo.InvariantCulture)], ct);
            case "schema-script":
                await using (var scope = app.Services.CreateAsyncScope())
                {
                    Console.WriteLine(scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>().Database.GenerateCreateScript());
                }
                return 0;
            default:
                throw new InvalidOperationException($"'{Command}' is served, not run.");
        }
    }
}
