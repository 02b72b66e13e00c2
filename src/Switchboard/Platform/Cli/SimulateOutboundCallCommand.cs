using Microsoft.EntityFrameworkCore;
using Switchboard.Credentials;
using Switchboard.Outbound;
using Switchboard.Platform.Database;
using Switchboard.Realtime;
using Switchboard.Simulators;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Cli;

/// <summary>
/// <c>switchboard simulate-call --outbound --tenant &lt;id&gt; [--to +15145550123] [--callee human|machine|busy|no-answer]
/// [--script file.json] [--url http://localhost:8080] [--calls-port 8093] [--provider-port 8091 | --no-provider]</c>:
/// places a complete outbound call with voicemail detection against a running server whose Twilio API base is the
/// Calls API simulator (<c>Switchboard__Twilio__ApiBaseUrl=http://127.0.0.1:8093</c>). It starts that simulator
/// (with the tenant's Twilio account) and the realtime provider simulator, queues the call as the API does (do-not-call
/// list and calling windows checked; a refusal is printed with its reason and next allowed time), waits for the
/// server's outbox to place it, lets the simulated callee answer (AMD <c>human</c> → the bridge; <c>machine_end_beep</c> →
/// the voicemail), then prints the simulator's timeline and the stored call. Exit 0 when the call ended, 1 when refused
/// or not placed within 60 s, 2 on bad options.
/// </summary>
internal static class SimulateOutboundCallCommand
{
    /// <summary>The account sid given to a tenant that has none (the demo tenant), so the server can place calls on the simulator.</summary>
    public const string SimulatedAccountSid = "AC00000000000000000000000000000093";

    /// <summary>Parsed options (<see cref="SwitchboardCli"/>).</summary>
    internal sealed record Options(Guid TenantId, string To, string Callee, string? ScriptPath, string Url, int CallsPort, int ProviderPort, bool NoProvider);

    public static async Task<int> RunAsync(IServiceProvider services, Options options, CancellationToken ct)
    {
        CalleeKind kind;
        switch (options.Callee)
        {
            case "human": kind = CalleeKind.Human; break;
            case "machine": kind = CalleeKind.Machine; break;
            case "busy": kind = CalleeKind.Busy; break;
            case "no-answer": kind = CalleeKind.NoAnswer; break;
            default:
                Console.Error.WriteLine("simulate-call --outbound: --callee is human, machine, busy or no-answer.");
                return 2;
        }
        if (options.ScriptPath is { } path && !File.Exists(path))
        {
            Console.Error.WriteLine($"simulate-call: no such script {path}");
            return 2;
        }
        var script = options.ScriptPath is { } p ? CallScript.Load(p) : new CallScript
        {
            Caller = new CallerScript { Steps = [new() { Listen = true }, new() { Say = "tone:700", Text = "Oui, bonjour?" }, new() { Listen = true }, new() { Hangup = true }] },
            Provider = new ProviderScript
            {
                Greeting = new ScriptedSpeech { Text = "Bonjour, ici l'assistant virtuel. Je vous appelle au sujet de votre demande." },
                Turns = [new ScriptedTurn { Hears = "Oui, bonjour?", Says = new ScriptedSpeech { Text = "Parfait, merci. Un technicien vous rappellera. Bonne journée!" } }],
            },
        };

        Tenancy.Tenant tenant;
        string token;
        await using (var scope = services.CreateAsyncScope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(options.TenantId);
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var found = await db.Tenants.FirstOrDefaultAsync(t => t.Id == options.TenantId, ct);
            var secret = found is null ? null : scope.ServiceProvider.GetRequiredService<SecretProtector>().Unprotect(found.TwilioAuthTokenProtected);
            if (found is null || secret is null)
            {
                Console.Error.WriteLine($"simulate-call: tenant {options.TenantId} has no Twilio auth token here.");
                return 2;
            }
            if (found.TwilioAccountSid is null || found.TwilioFromNumber is null)
            {
                // The demo tenant signs simulated webhooks but has no account: give it the simulator's (it has no real one to lose).
                found.TwilioAccountSid ??= SimulatedAccountSid;
                found.TwilioFromNumber ??= "+15145550199";
                await db.SaveChangesAsync(ct);
                Console.WriteLine($"The tenant had no Twilio account: it now uses the simulator's ({found.TwilioAccountSid}, caller id {found.TwilioFromNumber}).");
            }
            (tenant, token) = (found, secret);
        }

        var state = new TwilioCallsApiState(tenant.TwilioAccountSid!, token) { Callee = _ => kind, HumanScript = _ => script.Caller };
        await using var pacer = new SimPacer();
        state.Pacer = pacer;
        RealtimeProviderSimulator? provider = null;
        RunningTwilioCallsApi? calls = null;
        try
        {
            try
            {
                calls = await TwilioCallsApiSimulator.StartAsync(state, options.CallsPort);
                if (!options.NoProvider && kind == CalleeKind.Human)
                {
                    provider = await RealtimeProviderSimulator.StartAsync(script.Provider, options.ProviderPort, pacer);
                }
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"simulate-call: cannot listen on 127.0.0.1 ({e.Message}); use --calls-port / --provider-port.");
                return 2;
            }
            Console.WriteLine($"Twilio Calls API simulator on {calls.BaseUrl} (the server needs Switchboard__Twilio__ApiBaseUrl={calls.BaseUrl})");

            Guid callId;
            await using (var scope = services.CreateAsyncScope())
            {
                scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(options.TenantId);
                var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
                var assistant = await db.Assistants.AsNoTracking().OrderByDescending(a => a.IsDefault).ThenBy(a => a.CreatedAt).FirstOrDefaultAsync(ct);
                if (assistant is null || Phones.Phones.SettingsNumberToE164(options.To, Phones.Phones.RegionOf(tenant.Locale)) is not { } to)
                {
                    Console.Error.WriteLine(assistant is null ? "simulate-call: the tenant has no assistant." : $"simulate-call: {options.To} is not a phone number.");
                    return 2;
                }
                var (call, refused) = await scope.ServiceProvider.GetRequiredService<OutboundCalls>().QueueAsync(tenant,
                    new OutboundCallPlan(to, assistant, new Dictionary<string, string> { ["reason"] = "simulate-call --outbound" },
                        scope.ServiceProvider.GetRequiredService<TimeProvider>().GetUtcNow(), "cli"), options.Url, ct);
                await db.SaveChangesAsync(ct);
                if (refused is not null)
                {
                    Console.WriteLine($"Refused: {refused.Reason} — {refused.Message}" + (refused.NextAllowedAt is { } n ? $" Next allowed: {n:u}." : ""));
                    return 1;
                }
                callId = call!.Id;
                Console.WriteLine($"Queued outbound call {callId} to {to} with assistant {assistant.Name}; waiting for the server to place it…");
            }

            var deadline = DateTime.UtcNow.AddSeconds(60);
            SimOutboundCall? placed;
            while ((placed = state.Calls.Values.FirstOrDefault()) is null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, ct);
            }
            if (placed is null)
            {
                Console.Error.WriteLine("simulate-call: the server did not place the call within 60 s (is it running, with its outbox worker and the Twilio API base above?).");
                return 1;
            }
            await placed.Ended.Task.WaitAsync(TimeSpan.FromSeconds(90), ct);
            Console.WriteLine();
            Console.WriteLine("What Twilio saw (simulator timeline):");
            foreach (var e in state.TimelineOf(placed.Sid))
            {
                Console.WriteLine($"  {e.Event,-28} {(e.Detail.Length > 160 ? e.Detail[..160] + "…" : e.Detail)}");
            }
            if (placed.Media is { } media)
            {
                Console.WriteLine("Callee's side of the media stream:");
                foreach (var line in media.Timeline)
                {
                    Console.WriteLine("  " + line);
                }
            }

            await using (var scope = services.CreateAsyncScope())
            {
                scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(options.TenantId);
                var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
                var until = DateTime.UtcNow.AddSeconds(15);
                Calls.Call? stored;
                do
                {
                    stored = await db.Calls.AsNoTracking().FirstOrDefaultAsync(c => c.Id == callId, ct);
                    if (stored is { Analyzed: true })
                    {
                        break;
                    }
                    await Task.Delay(200, ct);
                }
                while (DateTime.UtcNow < until);
                Console.WriteLine();
                Console.WriteLine(stored is null ? "The server has no record of the call."
                    : $"Stored call {stored.Id}: direction {stored.Direction}, {stored.Status}, answered by {stored.AnsweredBy ?? "?"}, ended by {stored.EndedReason ?? "hang-up"}; {stored.Summary}");
            }
            return 0;
        }
        finally
        {
            if (provider is not null)
            {
                await provider.DisposeAsync();
            }
            if (calls is not null)
            {
                await calls.DisposeAsync();
            }
        }
    }
}
