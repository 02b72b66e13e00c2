using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Outbound;
using Switchboard.Realtime.Bridge;
using Switchboard.Tests.Realtime;
using Switchboard.Tests.Support;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Outbound;

/// <summary>A live native call whose assistant may transfer to "Bureau", its tenant (with a webhook endpoint) and its media stream's setup.</summary>
internal sealed record TransferringCall(TestTenant Tenant, Guid CallId, string CallSid, VoiceCallSetup Setup)
{
    /// <summary>The number of the "Bureau" destination.</summary>
    public const string OfficeNumber = "+15145550100";

    /// <summary>
    /// Creates the tenant (with Twilio), the in-progress French call from +15145550123 (to <paramref name="businessNumber"/>
    /// when given) and the tenant's webhook endpoint, then loads the call's setup as the media stream would.
    /// </summary>
    public static async Task<TransferringCall> CreateAsync(VoiceFactory factory, string? businessNumber = null)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        var callId = Guid.CreateVersion7();
        var now = factory.Clock.GetUtcNow();
        var assistantId = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync();
            paul.TransferEnabled = true;
            paul.TransferDestinations = [new TransferDestination { Name = "Bureau", Number = OfficeNumber }];
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = tenant.Id, Channel = CallChannels.Voice, Provider = NativeCallStatus.Provider, ProviderCallId = callSid, CallSid = callSid,
                Status = "in-progress", CustomerNumber = "+15145550123", BusinessNumber = businessNumber, Language = "fr-CA", AssistantId = paul.Id,
                StartedAt = now, CreatedAt = now, UpdatedAt = now,
            });
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/transfers", SecretProtected = "x", Enabled = true, CreatedAt = now, UpdatedAt = now,
            });
            await db.SaveChangesAsync();
            return paul.Id;
        });
        var (setup, _) = (await factory.Services.GetRequiredService<VoiceCallStore>().LoadSetupAsync(
            new MediaStreamGrant(tenant.Id, callId, callSid, assistantId, "fr-CA", DateTimeOffset.MaxValue), factory.ServerUri.ToString().TrimEnd('/'), CancellationToken.None))!.Value;
        return new TransferringCall(tenant, callId, callSid, setup);
    }

    /// <summary>
    /// Has the assistant start a cold transfer of this call to "Bureau"; returns the transfer's id, the URL of its
    /// <c>&lt;Dial action&gt;</c> on <paramref name="factory"/>'s server, and the form Twilio posts there when the office's line
    /// is busy (signed with <see cref="TwilioSimulator.AuthToken"/> by the caller).
    /// </summary>
    public async Task<(Guid TransferId, string Action, Dictionary<string, string> BusyForm)> StartColdTransferAsync(VoiceFactory factory)
    {
        var output = await factory.Services.GetRequiredService<VoiceCallStore>().InvokeToolAsync(Setup, Switchboard.Brain.ToolRegistry.TransferCall,
            System.Text.Json.JsonSerializer.Serialize(new { destination = "Bureau", reason = "Facture", mode = "cold" }), CancellationToken.None);
        Xunit.Assert.Contains("\"transferred\":true", output);
        var transferId = await factory.WithDbAsync(Tenant.Id, db => db.CallTransfers.Where(t => t.CallId == CallId).Select(t => t.Id).SingleAsync());
        var action = $"{factory.ServerUri.ToString().TrimEnd('/')}/webhooks/twilio/transfer/{Tenant.Id}/{transferId}/dial-ended";
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = Setup.CallSid, ["DialCallStatus"] = "busy", ["DialCallSid"] = "CA" + Guid.NewGuid().ToString("N"),
        };
        return (transferId, action, form);
    }
}
