using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Realtime;
using Switchboard.Simulators;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Cli;

/// <summary>
/// <c>switchboard simulate-call --tenant &lt;id&gt; --script &lt;file.json&gt; [--url http://localhost:8080]
/// [--auth-token T] [--provider-port 8091 | --no-provider]</c>: places a complete native call against a running server.
/// It starts the realtime provider simulator on 127.0.0.1 (port 8091 by default: the demo tenant's
/// <c>RealtimeBaseUrl</c>) with the script's provider part, plays Twilio (signed voice webhook, media stream with the
/// script's caller audio paced at 20 ms, marks, DTMF, stop, status callback), then prints what the caller heard, the
/// stored transcript with per-turn latencies, the lead and the SMS. The tenant's Twilio auth token is read from the
/// database (as the server decrypts it) unless <c>--auth-token</c> is given. Exit code 0 when the call completed.
/// </summary>
internal static class SimulateCallCommand
{
    /// <summary>Parsed options (<see cref="SwitchboardCli"/>).</summary>
    internal sealed record Options(Guid TenantId, string ScriptPath, string Url, string? AuthToken, int ProviderPort, bool NoProvider);

    public static async Task<int> RunAsync(IServiceProvider services, Options options, CancellationToken ct)
    {
        var (tenantId, scriptPath, url, token, port, noProvider) = options;
        var provider = !noProvider;
        if (!File.Exists(scriptPath))
        {
            Console.Error.WriteLine($"simulate-call: no such script {scriptPath}");
            return 2;
        }
        var script = CallScript.Load(scriptPath);

        if (token is null)
        {
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var stored = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId).Select(t => t.TwilioAuthTokenProtected).FirstOrDefaultAsync(ct);
            token = scope.ServiceProvider.GetRequiredService<SecretProtector>().Unprotect(stored);
            if (token is null)
            {
                Console.Error.WriteLine($"simulate-call: tenant {tenantId} has no Twilio auth token here; pass --auth-token.");
                return 2;
            }
        }

        await using var pacer = new SimPacer();
        RealtimeProviderSimulator? simulator = null;
        try
        {
            if (provider)
            {
                try
                {
                    simulator = await RealtimeProviderSimulator.StartAsync(script.Provider, port, pacer);
                }
                catch (IOException e)
                {
                    Console.Error.WriteLine($"simulate-call: cannot listen on 127.0.0.1:{port} for the realtime simulator ({e.Message}); use --provider-port or --no-provider.");
                    return 2;
                }
                Console.WriteLine($"Realtime provider simulator on {simulator.Url}");
            }
            Console.WriteLine($"Calling tenant {tenantId} at {url} ({script.Description ?? Path.GetFileName(scriptPath)})");
            var twilio = new TwilioCallSimulator(new Uri(url), token, pacer);
            SimulatedCall call;
            try
            {
                call = await twilio.PlaceCallAsync(tenantId, script.Caller, ct);
            }
            catch (HttpRequestException e)
            {
                Console.Error.WriteLine($"simulate-call: {e.Message}");
                return 1;
            }

            Console.WriteLine();
            Console.WriteLine("What happened (caller's side):");
            foreach (var line in call.Timeline)
            {
                Console.WriteLine("  " + line);
            }
            Console.WriteLine();
            Console.WriteLine($"  greeting heard {Ms(call.GreetingMs)} after the stream started; answers {string.Join(", ", call.TurnLatenciesMs.Select(l => Ms(l)))} after the caller's last word");
            Console.WriteLine($"  {call.AudioBytesHeard / 8} ms of assistant audio played, {call.MarksEchoed} marks echoed, {call.Clears} clear(s)");

            await PrintStoredCallAsync(services, tenantId, call.CallSid, ct);
            return 0;
        }
        finally
        {
            if (simulator is not null)
            {
                await simulator.DisposeAsync();
            }
        }
    }

    private static async Task PrintStoredCallAsync(IServiceProvider services, Guid tenantId, string callSid, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        // The server finishes the call (transcript, lead, alerts) once the stream has stopped: wait for it, within reason.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        Calls.Call? call;
        do
        {
            call = await db.Calls.AsNoTracking().FirstOrDefaultAsync(c => c.Provider == "twilio" && c.ProviderCallId == callSid, ct);
            if (call is { TranscriptFinal: true } || call?.EndedReason is "after-hours" or "over-limit" or "no-assistant")
            {
                break;
            }
            await Task.Delay(200, ct);
        }
        while (DateTime.UtcNow < deadline);
        if (call is null)
        {
            Console.WriteLine("The server has no record of the call.");
            return;
        }
        Console.WriteLine();
        Console.WriteLine($"Stored call {call.Id}: {call.Status}, ended by {call.EndedReason ?? "?"}, {call.DurationSeconds:0.0} s, language {call.Language}, greeting latency {Ms(call.GreetingLatencyMs)} (stream start → first frame sent)");
        var turns = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id).OrderBy(t => t.Seq).ToListAsync(ct);
        Console.WriteLine("Transcript:");
        foreach (var t in turns)
        {
            var latency = t.ProviderLatencyMs is null && t.BridgeLatencyMs is null ? ""
                : $"   [end of speech → provider audio {Ms(t.ProviderLatencyMs)}, → sent to Twilio +{Ms(t.BridgeLatencyMs, "0.00")}]";
            Console.WriteLine($"  {t.SecondsFromStart,6:0.0}s {t.Role,-11} {t.Text}{latency}");
        }
        var lead = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.CallId == call.Id, ct);
        Console.WriteLine(lead is null ? "Lead: none" : $"Lead: {lead.Urgency} — {lead.Name ?? "?"}, {lead.Phone ?? "?"}, {lead.Address ?? "?"}: {lead.Problem}");
        foreach (var sms in await db.SmsMessages.AsNoTracking().Where(s => s.CallId == call.Id).OrderBy(s => s.CreatedAt).ToListAsync(ct))
        {
            Console.WriteLine($"SMS {sms.Purpose} to {sms.To} ({sms.Status}): {sms.Body}");
        }
    }

    private static string Ms(double? ms, string format = "0") => ms is { } v ? v.ToString(format, CultureInfo.InvariantCulture) + " ms" : "n/a";
}
