using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;
using Switchboard.Vapi;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// The record-only fast path (issue 13, <see cref="VapiRecordOnly"/>): a message that only records its event is stored in one
/// statement when its call needs nothing else from it, with the row the full path would write; otherwise the full path runs
/// (a new call, a field to fill, a last-activity touch due, a duplicate), and another tenant's call is never used.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiRecordOnlyTests(CountingWebhookFactory factory) : IClassFixture<CountingWebhookFactory>
{
    private const string Customer = "+15145550142";

    /// <summary>A record-only message of each sort: text Postgres cannot hold (a lone surrogate), a partial transcript, hang, an unknown type longer than the column.</summary>
    public static TheoryData<string> RecordOnlyKinds() => new() { "speech-update", "transcript-partial", "hang", "unknown-long-type" };

    [Theory]
    [MemberData(nameof(RecordOnlyKinds))]
    public async Task RecordOnlyMessageIsStoredInOneStatementWithTheRowTheFullPathWrites(string kind)
    {
        var tenant = await factory.CreateTenantAsync("Record-only rows");
        var callId = Guid.NewGuid().ToString();
        await PostOkAsync(tenant, AssistantRequest(callId, Customer));
        var body = (kind switch
        {
            "speech-update" => """{"message":{"type":"speech-update","status":"started","role":"user","turn":3,"note":"bad \ud800 text","timestamp":1763478000123,"call":{"id":"CALL","type":"inboundPhoneCall","customer":{"number":"CUSTOMER"}}}}""",
            "transcript-partial" => """{"message":{"type":"transcript","role":"user","transcriptType":"partial","transcript":"My base","timestamp":"2026-11-18T15:01:00.5Z","call":{"id":"CALL"}}}""",
            "hang" => """{"message":{"type":"hang","call":{"id":"CALL","customer":{"number":"CUSTOMER"}}}}""",
            _ => """{"message":{"type":"TYPE","callId":"CALL"}}""",
        }).Replace("CALL", callId, StringComparison.Ordinal).Replace("CUSTOMER", Customer, StringComparison.Ordinal).Replace("TYPE", new string('x', 150), StringComparison.Ordinal);

        // A minute on, the full path stores the message and touches the call; then, at the same instant, the same bytes again
        // (their first row deleted) find the call touched just now and take the fast path.
        factory.Clock.Advance(VapiEventProcessor.ActivityTouch);
        await PostOkAsync(tenant, body);
        var full = await EventAsync(tenant, body);
        await factory.WithDbAsync(tenant.Id, db => db.CallEvents.Where(e => e.Id == full.Id).ExecuteDeleteAsync());
        using (var sql = StatementCounter.Record())
        {
            await PostOkAsync(tenant, body);
            Assert.True(sql.Commands.Count == 1, sql.ToString());
        }
        var fast = await EventAsync(tenant, body);

        Assert.NotEqual(full.Id, fast.Id);
        Assert.Equal(7, fast.Id.Version);
        foreach (var property in typeof(CallEvent).GetProperties().Where(p => p.Name != nameof(CallEvent.Id)))
        {
            Assert.True(Equals(property.GetValue(full), property.GetValue(fast)), $"{property.Name}: {property.GetValue(full)} ≠ {property.GetValue(fast)}");
        }
        Assert.NotNull(fast.CallId);
        if (kind == "speech-update")
        {
            Assert.NotNull(fast.UnusableFields); // the sanitized body and its unusable path, as the full path stores them
            Assert.DoesNotContain("\\ud800", fast.PayloadJson, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1763478000123), fast.ProviderTimestamp);
        }
        if (kind == "unknown-long-type")
        {
            Assert.Equal(100, fast.Type.Length);
        }
    }

    [Fact]
    public async Task DuplicateRecordOnlyMessageIsStoredOnceAndAnsweredOk()
    {
        var tenant = await factory.CreateTenantAsync("Record-only duplicate");
        var callId = Guid.NewGuid().ToString();
        await PostOkAsync(tenant, AssistantRequest(callId, Customer));
        var speech = SpeechUpdate(callId, Customer);

        await PostOkAsync(tenant, speech);
        await PostOkAsync(tenant, speech);

        var key = Key(speech);
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.IdempotencyKey == key)));
    }

    [Fact]
    public async Task RecordOnlyMessageForAnUnknownCallCreatesTheCall()
    {
        var tenant = await factory.CreateTenantAsync("Record-only new call");
        var callId = Guid.NewGuid().ToString();
        var speech = SpeechUpdate(callId, Customer);

        await PostOkAsync(tenant, speech);

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callId));
        Assert.Equal(Customer, call.CustomerNumber);
        Assert.Equal(call.Id, (await EventAsync(tenant, speech)).CallId);
    }

    [Fact]
    public async Task RecordOnlyMessageFillsACallFieldTheStoredCallLacks()
    {
        var tenant = await factory.CreateTenantAsync("Record-only fill");
        var callId = Guid.NewGuid().ToString();
        await PostOkAsync(tenant, AssistantRequest(callId, customer: null));
        var before = await CallAsync(tenant, callId);
        Assert.Null(before.CustomerNumber);

        await PostOkAsync(tenant, SpeechUpdate(callId, Customer));

        var after = await CallAsync(tenant, callId);
        Assert.Equal(Customer, after.CustomerNumber);
        Assert.True(after.Version > before.Version);
    }

    [Fact]
    public async Task RecordOnlyMessageTouchesACallIdleForAMinuteAndOnlyThen()
    {
        var tenant = await factory.CreateTenantAsync("Record-only touch");
        var callId = Guid.NewGuid().ToString();
        await PostOkAsync(tenant, AssistantRequest(callId, Customer));
        var created = await CallAsync(tenant, callId);

        factory.Clock.Advance(VapiEventProcessor.ActivityTouch - TimeSpan.FromSeconds(1));
        using (var sql = StatementCounter.Record())
        {
            await PostOkAsync(tenant, SpeechUpdate(callId, Customer, turn: 1));
            Assert.True(sql.Commands.Count == 1, sql.ToString());
        }
        var untouched = await CallAsync(tenant, callId);
        Assert.Equal(created.UpdatedAt, untouched.UpdatedAt);
        Assert.Equal(created.Version, untouched.Version);

        factory.Clock.Advance(TimeSpan.FromSeconds(1)); // a minute since the call was last written
        await PostOkAsync(tenant, SpeechUpdate(callId, Customer, turn: 2));

        var touched = await CallAsync(tenant, callId);
        Assert.Equal(factory.Clock.GetUtcNow(), touched.UpdatedAt);
        Assert.True(touched.Version > created.Version);
        Assert.Equal(3, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == created.Id)));
    }

    [Fact]
    public async Task AnotherTenantsCallIsNeverUsed()
    {
        var owner = await factory.CreateTenantAsync("Record-only owner");
        var other = await factory.CreateTenantAsync("Record-only other");
        var callId = Guid.NewGuid().ToString();
        await PostOkAsync(owner, AssistantRequest(callId, Customer)); // the owner's call: every field set, just written
        var speech = SpeechUpdate(callId, Customer);

        await PostOkAsync(other, speech);

        var owners = await CallAsync(owner, callId);
        var others = await CallAsync(other, callId);
        Assert.NotEqual(owners.Id, others.Id);
        var stored = await EventAsync(other, speech);
        Assert.Equal(other.Id, stored.TenantId);
        Assert.Equal(others.Id, stored.CallId);
        Assert.Equal(1, await factory.WithDbAsync(owner.Id, db => db.CallEvents.CountAsync())); // the owner's assistant-request only
    }

    [Theory]
    [InlineData("""{"type":"speech-update"}""", true)]
    [InlineData("""{"type":"hang"}""", true)]
    [InlineData("""{"type":"model-output"}""", true)]
    [InlineData("""{"type":"user-interrupted"}""", true)]
    [InlineData("""{"type":"transcript","transcriptType":"partial","transcript":"My"}""", true)]
    [InlineData("""{"type":"transcript","transcriptType":"final","transcript":"My basement"}""", false)]
    [InlineData("""{"type":"transcript","transcript":"My basement"}""", false)]
    [InlineData("""{"type":"status-update","status":"in-progress"}""", false)]
    [InlineData("""{"type":"conversation-update","messages":[]}""", false)]
    [InlineData("""{"type":"end-of-call-report"}""", false)]
    [InlineData("""{"type":"transfer-update"}""", false)]
    [InlineData("""{"type":"assistant-request"}""", false)]
    [InlineData("""{"type":"tool-calls"}""", false)]
    [InlineData("""{"type":"knowledge-base-request"}""", false)]
    public void OnlyMessagesWithNoEffectBeyondTheirEventAreRecordOnly(string message, bool recordOnly)
    {
        using var document = JsonDocument.Parse(message);
        var m = document.RootElement;
        Assert.Equal(recordOnly, VapiRecordOnly.Applies(m, m.GetProperty("type").GetString()!));
    }

    private static string AssistantRequest(string callId, string? customer) => JsonSerializer.Serialize(new
    {
        message = new
        {
            type = "assistant-request",
            call = customer is null
                ? (object)new { id = callId, type = "inboundPhoneCall" }
                : new { id = callId, type = "inboundPhoneCall", customer = new { number = customer } },
        },
    });

    private static string SpeechUpdate(string callId, string customer, int turn = 1) => JsonSerializer.Serialize(new
    {
        message = new { type = "speech-update", status = "started", role = "user", turn, call = new { id = callId, type = "inboundPhoneCall", customer = new { number = customer } } },
    });

    private async Task PostOkAsync(TestTenant tenant, string body)
    {
        var response = await factory.PostVapiAsync(tenant, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        if (!body.Contains("\"assistant-request\"", StringComparison.Ordinal))
        {
            Assert.Equal("""{"ok":true}""", reply.ToJsonString());
        }
    }

    private static string Key(string body) => VapiEventProcessor.KeyOf(Encoding.UTF8.GetBytes(body));

    private Task<CallEvent> EventAsync(TestTenant tenant, string body)
    {
        var key = Key(body);
        return factory.WithDbAsync(tenant.Id, db => db.CallEvents.AsNoTracking().SingleAsync(e => e.IdempotencyKey == key));
    }

    private Task<Call> CallAsync(TestTenant tenant, string callId) =>
        factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.ProviderCallId == callId));
}
