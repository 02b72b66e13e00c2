using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Simulators;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Realtime;

/// <summary>
/// The host on a real Kestrel listener (127.0.0.1, any port), with the realtime provider simulator and Twilio's REST
/// simulator beside it: media calls go through real sockets end to end. Tests set <see cref="Provider"/>'s script.
/// </summary>
public class VoiceFactory : SwitchboardFactory
{
    internal SimPacer Pacer { get; } = new();
    internal RealtimeProviderSimulator Provider { get; }
    internal TwilioSimulator TwilioRest { get; }

    public VoiceFactory()
    {
        // Fixture set-up cannot be async here; the simulators start in a few milliseconds.
        Provider = RealtimeProviderSimulator.StartAsync(new ProviderScript(), 0, Pacer).GetAwaiter().GetResult();
        TwilioRest = TwilioSimulator.StartAsync().GetAwaiter().GetResult();
        TwilioBaseUrl = TwilioRest.BaseUrl;
        UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
    }

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Realtime:BaseUrl"] = Provider.Url,
        ["Switchboard:Realtime:ApiKey"] = "sk-test-realtime",
        ["Switchboard:Realtime:ConnectTimeoutMs"] = "2000",
        ["Switchboard:Voice:RequireStreamSignature"] = "true",
        ["Switchboard:Voice:IdleRepromptSeconds"] = "8",
        ["Switchboard:Voice:HangupGraceSeconds"] = "5",
        ["Switchboard:Billing:Plans:pro:ConcurrentCalls"] = "1000",
    }.Concat(MoreSettings).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>Settings a subclass adds.</summary>
    protected virtual IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>();

    /// <summary>The listener's address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    internal Uri ServerUri
    {
        get
        {
            StartServer();
            return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        }
    }

    internal TwilioCallSimulator Twilio() => new(ServerUri, TwilioSimulator.AuthToken, Pacer) { Rest = TwilioRest.Voice };

    /// <summary>Places a call as Twilio would, with the script's provider behaviour.</summary>
    internal async Task<SimulatedCall> CallAsync(TestTenant tenant, CallScript script, TimeSpan? timeout = null)
    {
        Provider.Script = script.Provider;
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        return await Twilio().PlaceCallAsync(tenant.Id, script.Caller, cts.Token);
    }

    /// <summary>The native call of a CallSid once the server has finished it (transcript final), polling with a deadline.</summary>
    internal async Task<Call> FinishedCallAsync(TestTenant tenant, string callSid, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var call = await WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().FirstOrDefaultAsync(c => c.ProviderCallId == callSid));
            if (call is { TranscriptFinal: true } || DateTime.UtcNow > deadline)
            {
                return call ?? throw new InvalidOperationException($"No call {callSid}");
            }
            await Task.Delay(50);
        }
    }

    private int disposed;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Interlocked.Exchange(ref disposed, 1) == 0)
        {
            Provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
            TwilioRest.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Pacer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
