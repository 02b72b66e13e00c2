using System.Net.Http.Headers;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Realtime;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// <see cref="VoiceFactory"/> with Twilio's Calls API simulator (<see cref="TwilioCallsApiSimulator"/>) as the Twilio
/// base URL: outbound calls are created there, and its callee answers through real sockets (callbacks, media stream).
/// </summary>
public sealed class OutboundFactory : VoiceFactory
{
    internal RunningTwilioCallsApi Calls { get; }

    public OutboundFactory()
    {
        Calls = TwilioCallsApiSimulator.StartAsync(new TwilioCallsApiState(TwilioSimulator.AccountSid, TwilioSimulator.AuthToken) { Pacer = Pacer, Clock = Clock })
            .GetAwaiter().GetResult();
        TwilioBaseUrl = Calls.BaseUrl;
    }

    /// <summary>A client of the real listener (so the webhooks Switchboard gives Twilio point at it) with the tenant's API key.</summary>
    internal HttpClient Api(TestTenant tenant)
    {
        var client = new HttpClient { BaseAddress = ServerUri };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tenant.ApiKey);
        return client;
    }

    /// <summary>A tenant with Twilio credentials whose default assistant is native (realtime bridge).</summary>
    internal async Task<TestTenant> NativeTenantAsync(string? voicemail = null)
    {
        var tenant = await CreateTenantAsync(withTwilio: true);
        await WithDbAsync(tenant.Id, async db =>
        {
            var assistant = await db.Assistants.SingleAsync();
            assistant.Provider = "realtime";
            assistant.RecordingEnabled = false;
            assistant.VoicemailMessage = voicemail;
            var account = await TenantAccounts.GetOrCreateAsync(db, Services.GetRequiredService<PlanCatalog>(), tenant.Id, Clock.GetUtcNow(), CancellationToken.None);
            account.PlanId = "telephony"; // outbound calls need the plan's telephony feature
            return await db.SaveChangesAsync();
        });
        Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
        return tenant;
    }

    /// <summary>The simulator's call to <paramref name="to"/> once it has ended (bounded wait on its completion).</summary>
    internal async Task<SimOutboundCall> EndedCallAsync(string to, int timeoutMs = 30000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        SimOutboundCall? call;
        while ((call = Calls.State.Calls.Values.FirstOrDefault(c => c.To == to)) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.NotNull(call);
        await call.Ended.Task.WaitAsync(TimeSpan.FromMilliseconds(timeoutMs));
        return call;
    }

    private int disposed;

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref disposed, 1) == 0)
        {
            Calls.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        base.Dispose(disposing);
    }
}
