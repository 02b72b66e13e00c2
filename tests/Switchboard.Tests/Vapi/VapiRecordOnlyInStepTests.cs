using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;
using Switchboard.Vapi;
using Xunit.Abstractions;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// Keeps <see cref="VapiRecordOnly.Applies"/> in step with <see cref="VapiEventProcessor"/>: a message the full path gives any
/// effect beyond its stored event (a call column, a turn, an outbox row… anything the unit of work would write) must be refused
/// by <c>Applies</c>, or the fast path would drop that effect. Measured, not listed: every real fixture under
/// <c>shared/fixtures/vapi</c>, and every known server-message type (shared/protocols/vapi-server-messages.md §2) carrying the
/// union of the fixtures' fields, each run through the full path against its call stored with every field the message
/// carries set and written just now (so no fill and no last-activity touch is due). Adding an effect to a type that
/// <c>Applies</c> accepts fails here.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiRecordOnlyInStepTests(CountingWebhookFactory factory, ITestOutputHelper output) : IClassFixture<CountingWebhookFactory>
{
    /// <summary>The server-message types of vapi-server-messages.md §2 (fire-and-forget and request/response).</summary>
    private static readonly string[] KnownTypes =
    [
        "assistant-request", "tool-calls", "function-call", "status-update", "end-of-call-report", "conversation-update",
        "transcript", "transcript[transcriptType=\"final\"]", "speech-update", "hang", "model-output", "user-interrupted",
        "transfer-destination-request", "handoff-destination-request", "transfer-update", "phone-call-control",
        "knowledge-base-request", "language-change-detected", "voice-input", "voice-request", "call.endpointing.request",
        "assistant.speechStarted", "chat.created", "chat.deleted", "session.created", "session.updated", "session.deleted",
        "call.deleted", "call.delete.failed", "call.artifact.upload", "campaign.predial",
    ];

    [Fact]
    public async Task EveryMessageTheFullPathGivesAnEffectIsRefusedByTheFastPath()
    {
        var tenant = await factory.CreateTenantAsync("Record-only in step");
        var fixtures = Directory.GetFiles(Fixtures.PathOf("vapi"), "*.json*", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal)
            .Select(path => (Name: Path.GetFileName(path), Message: Parse(File.ReadAllText(path))))
            .Where(f => f.Message is not null)
            .Select(f => (f.Name, Message: f.Message!))
            .ToList();
        Assert.True(fixtures.Count >= 20, $"{fixtures.Count} Vapi fixtures found");
        // Every field any fixture's message carries, for the synthesized messages of each known type.
        var union = new JsonObject();
        foreach (var (_, message) in fixtures)
        {
            foreach (var (name, value) in message)
            {
                if (name != "type" && !union.ContainsKey(name))
                {
                    union[name] = value?.DeepClone();
                }
            }
        }
        var cases = fixtures.Select(f => (f.Name, Message: (JsonObject)f.Message.DeepClone()))
            .Concat(KnownTypes.Select(type =>
            {
                var message = (JsonObject)union.DeepClone();
                message["type"] = type;
                return ("type " + type, message);
            }))
            .ToList();
        // The union's transcript is a partial one (transcript.doc.json); the final variant of each transcript type too.
        foreach (var type in KnownTypes.Where(t => t.StartsWith("transcript", StringComparison.Ordinal)))
        {
            var message = (JsonObject)union.DeepClone();
            message["type"] = type;
            message["transcriptType"] = "final";
            cases.Add(("type " + type + " (final)", message));
        }

        var effects = new Dictionary<string, bool>();
        foreach (var (name, message) in cases)
        {
            var type = (string)message["type"]!;
            if (VapiWebhookApi.RequestResponseTypes.Contains(type))
            {
                continue; // answered inline: never record-only, whatever they write (Applies refuses them by type)
            }
            var effect = await FullPathHasAnEffectAsync(tenant, message);
            effects[name] = effect;
            using var document = JsonDocument.Parse(message.ToJsonString());
            var applies = VapiRecordOnly.Applies(document.RootElement, type);
            output.WriteLine($"{name}: effect {effect}, record-only {applies}");
            Assert.False(effect && applies, $"{name}: the full path changes more than its event, but VapiRecordOnly.Applies takes it");
        }

        // The detector sees effects (else the test could not fail), and the record-only kinds have none.
        Assert.True(effects["status-update.doc.jsonc"]);
        Assert.True(effects["end-of-call-report.2024-07.json"]);
        Assert.True(effects["type conversation-update"]);
        Assert.True(effects["type transcript (final)"]);
        Assert.False(effects["speech-update.doc.json"]);
        Assert.False(effects["transcript.doc.json"]); // partial
        Assert.False(effects["type hang"]);
    }

    /// <summary>The fixture's <c>message</c>; null for the one doc excerpt that is not JSON even with comments allowed (function-call's <c>{ Call Object }</c>).</summary>
    private static JsonObject? Parse(string text)
    {
        try
        {
            return (JsonObject)JsonNode.Parse(text, documentOptions: Lenient)!["message"]!;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>
    /// Runs <paramref name="message"/> (given a fresh call id) through <see cref="VapiEventProcessor.ProcessAsync"/> in a unit of
    /// work that is never saved, after storing its call through the webhook with the message's call fields; true when the
    /// unit would write anything beyond the message's event (any tracked row added, changed or deleted).
    /// </summary>
    private async Task<bool> FullPathHasAnEffectAsync(TestTenant tenant, JsonObject message)
    {
        var callId = Guid.NewGuid().ToString();
        var call = message["call"] as JsonObject ?? new JsonObject();
        call["id"] = callId;
        call["type"] ??= "inboundPhoneCall";
        call["customer"] ??= new JsonObject { ["number"] = "+15145550142" };
        message["call"] = call;
        message.Remove("callId");

        // The call, stored by a message that fills every call field this one carries (and nothing else).
        var seed = new JsonObject { ["type"] = "hang", ["call"] = call.DeepClone() };
        foreach (var field in new[] { "customer", "phoneNumber" })
        {
            if (message[field] is { } value)
            {
                seed[field] = value.DeepClone();
            }
        }
        var response = await factory.PostVapiAsync(tenant, new JsonObject { ["message"] = seed }.ToJsonString());
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);

        using var scope = factory.Scope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var processor = scope.ServiceProvider.GetRequiredService<VapiEventProcessor>();
        var config = await scope.ServiceProvider.GetRequiredService<TenantConfigCache>().GetAsync(db, tenant.Id, CancellationToken.None);
        var raw = new JsonObject { ["message"] = message.DeepClone() }.ToJsonString();
        using var document = JsonDocument.Parse(raw);
        var m = document.RootElement.GetProperty("message");
        await processor.ProcessAsync(config, m, m.GetProperty("type").GetString()!, raw, VapiEventProcessor.KeyOf(Encoding.UTF8.GetBytes(raw)), [], CancellationToken.None);
        Assert.Contains(db.ChangeTracker.Entries<Call>(), e => (string)e.Property(nameof(Call.ProviderCallId)).CurrentValue! == callId);
        return db.ChangeTracker.Entries().Any(e => e.State is EntityState.Added or EntityState.Modified or EntityState.Deleted);
    }
}
