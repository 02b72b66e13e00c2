using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Credentials;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Realtime;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// <see cref="VoiceFactory"/> with Twilio's Calls API simulator (<see cref="TwilioCallsApiSimulator"/>) as the Twilio
/// base URL: outbound calls are created there, and its callee answers through real sockets (callbacks, media stream).
/// Vapi's REST API is <see cref="VapiSimulator"/> (<c>POST /call</c> for assistants that live at Vapi).
/// </summary>
public sealed class OutboundFactory : VoiceFactory
{
    private static int vapiNumbers;

    internal RunningTwilioCallsApi Calls { get; }

    internal VapiSimulator Vapi { get; } = VapiSimulator.StartAsync().GetAwaiter().GetResult();

    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Vapi:ApiBaseUrl"] = Vapi.BaseUrl,
    };

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

    /// <summary>
    /// A tenant whose default assistant lives at Vapi: the Vapi private key stored, the assistant and a Vapi phone number
    /// created at <see cref="Vapi"/> (ids on the rows), the telephony plan. <paramref name="knownNumber"/> false stores a
    /// phone number id Vapi does not know (its <c>POST /call</c> then answers 400).
    /// </summary>
    internal async Task<(TestTenant Tenant, string VapiAssistantId, string VapiPhoneNumberId)> VapiTenantAsync(bool knownNumber = true)
    {
        var tenant = await CreateTenantAsync(withTwilio: true);
        var vapiAssistantId = Guid.NewGuid().ToString();
        var phoneNumberId = Guid.NewGuid().ToString();
        var business = $"+1450555{Interlocked.Increment(ref vapiNumbers):D4}"; // phone numbers are unique across tenants
        Vapi.Assistants[vapiAssistantId] = new JsonObject { ["id"] = vapiAssistantId, ["name"] = "Paul", ["createdAt"] = DateTimeOffset.UtcNow.ToString("O") };
        if (knownNumber)
        {
            Vapi.PhoneNumbers[phoneNumberId] = new JsonObject { ["id"] = phoneNumberId, ["provider"] = "twilio", ["number"] = business };
        }
        var secrets = Services.GetRequiredService<SecretProtector>();
        await WithDbAsync(tenant.Id, async db =>
        {
            var assistant = await db.Assistants.SingleAsync();
            assistant.Provider = "vapi";
            assistant.VapiAssistantId = vapiAssistantId;
            var now = Clock.GetUtcNow();
            db.ProviderCredentials.Add(new ProviderCredential
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant.Id,
                Provider = Providers.Vapi,
                SecretProtected = secrets.Protect(VapiSimulator.PrivateKey),
                Preview = SecretProtector.Preview(VapiSimulator.PrivateKey),
                CreatedAt = now,
                UpdatedAt = now,
            });
            db.PhoneNumbers.Add(new global::Switchboard.Numbers.PhoneNumber
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant.Id,
                Number = business,
                Mode = "vapi",
                VapiPhoneNumberId = phoneNumberId,
                Status = "active",
                CreatedAt = now,
                UpdatedAt = now,
            });
            var account = await TenantAccounts.GetOrCreateAsync(db, Services.GetRequiredService<PlanCatalog>(), tenant.Id, now, CancellationToken.None);
            account.PlanId = "telephony";
            return await db.SaveChangesAsync();
        });
        Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
        return (tenant, vapiAssistantId, phoneNumberId);
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
            Vapi.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        base.Dispose(disposing);
    }
}
