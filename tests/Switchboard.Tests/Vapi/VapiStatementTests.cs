using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;
using Switchboard.Vapi;
using Switchboard.Webhooks;
using Xunit.Abstractions;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// The SQL each kind of Vapi message costs in steady state (issue 13: ~4.1–4.6 ms of CPU per message on SQLite): one call's
/// messages as Vapi sends them, for a tenant with a webhook endpoint subscribed to every event, after a first call has
/// warmed the caches. The bounds are the statements each kind needs; a change that adds one fails here first.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiStatementTests(CountingWebhookFactory factory, ITestOutputHelper output) : IClassFixture<CountingWebhookFactory>
{
    /// <summary>
    /// Most statements per message of <see cref="VapiIngestTests.CallMessages"/>, in its order. Every message that changes its
    /// call starts with one lookup (stored already? its call), and on SQLite re-reads the call's version in the writer
    /// (PostgreSQL runs the unit in its own transaction instead); one that only records its event, for a call that needs
    /// nothing from it, is one INSERT … SELECT (<see cref="VapiRecordOnly"/>).
    /// </summary>
    private static readonly (string Type, int Max)[] Budget =
    [
        ("assistant-request", 4),   // live-call count (plan limit), lookup; the event, the call
        ("status-update", 8),       // lookup, call.started stored?, version; event, call, call.started's event, delivery, outbox row
                                    // (9 when the tenant's endpoints were read per message, before WebhookEndpointCache)
        ("speech-update", 1),       // the event, its call's state checked in the same INSERT … SELECT (VapiRecordOnly)
        ("transcript", 1),          // a partial transcript: likewise
        ("transcript", 4),          // lookup with the turns stored; call (its version), turn, event (one more when the turns were
                                    // counted apart)
        ("tool-calls", 11),         // capture_lead: lookup, the call's lead, its alerts sent; event, call, lead, the alert rows, the
                                    // lead events' rows (no lookup: the lead is new, so no stored event carries its id; 13 when they
                                    // were looked up, 18 before its webhook rows were queued, 15 before the endpoints were cached)
        ("status-update", 4),       // lookup, version; event, call
        ("end-of-call-report", 15), // lookup, turns stored, lead, alerts sent, the six events stored? (one query), version;
                                    // (15: the report states a callback number other than the one the call's alert texted, so
                                    // the follow-up text and its outbox row are written: 13 without them);
                                    // turns deleted, call, lead, alert rows; queued rows one INSERT per type: the event, the 15 turns,
                                    // the webhook events, their deliveries, their outbox rows (21 when those were one statement each,
                                    // 15 when the endpoints were read per message)
    ];

    /// <summary>
    /// Most round trips per message on PostgreSQL, in the same order: the reads, then one batch for the save (its rows inserted
    /// in EF's batch, not in a statement of their own), with no COMMIT of its own (the batch is PostgreSQL's implicit
    /// transaction: SwitchboardDbContext.SaveInOneRoundTripAsync); the end-of-call report's deferred DELETE of the live turns
    /// is a statement of its own, so it saves in a transaction, and its COMMIT is one more round trip.
    /// </summary>
    private static readonly (string Type, int Max)[] PostgresRoundTrips =
    [
        ("assistant-request", 3), ("status-update", 3), ("speech-update", 1), ("transcript", 1), ("transcript", 2),
        ("tool-calls", 4), ("status-update", 2), ("end-of-call-report", 8), // the report: 7 commands (one the post-call pipeline's claim, PostCallPipeline.ClaimAsync) and a COMMIT
        // Before SaveInOneRoundTripAsync each that saves, the report aside, was one more (the COMMIT of the unit's transaction);
        // before WebhookEndpointCache, status-update, tool-calls and the report one more again; a final transcript one more again
        // before its lookup counted the call's turns (StoredEventCallAndTurns), and the report before its lookup read them; tool-calls
        // two more when a new lead's events were looked up.
    ];

    [Fact]
    public async Task EachMessageKindRunsNoMoreStatementsThanItNeeds()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync("Counted Vapi");
        await factory.CreateEndpointAsync(tenant, receiver.Url);
        var eocr = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");
        foreach (var body in VapiIngestTests.CallMessages(Guid.NewGuid().ToString(), 0, eocr))
        {
            Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, body.Json)).StatusCode); // compiles and prepares
        }

        var counted = new List<(string Type, StatementCounter.Recording Sql)>();
        foreach (var body in VapiIngestTests.CallMessages(Guid.NewGuid().ToString(), 1, eocr))
        {
            await WarmCachesAsync(tenant.Id); // the per-tenant caches expire after seconds of real time: never during one message
            using var sql = StatementCounter.Record();
            Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, body.Json)).StatusCode);
            counted.Add((body.Type, sql));
        }

        output.WriteLine(string.Join("\n", counted.Select(c => $"{c.Type}: {c.Sql.Statements} statements in {c.Sql.Commands.Count} commands, {c.Sql.Commits} commits")));
        Assert.Equal(Budget.Select(b => b.Type), counted.Select(c => c.Type));
        if (TestDatabase.IsPostgres)
        {
            // PostgreSQL: EF batches a save's statements, so what each message costs is its round trips.
            foreach (var ((type, max), (_, sql)) in PostgresRoundTrips.Zip(counted))
            {
                Assert.True(sql.RoundTrips <= max, $"{type}: {sql}");
            }
            return;
        }
        foreach (var ((type, max), (_, sql)) in Budget.Zip(counted))
        {
            Assert.True(sql.Statements <= max, $"{type}: {sql}");
        }
    }

    /// <summary>
    /// A message that needs its call's stored turns reads them with its lookup, in one query: a final transcript (their count,
    /// the new turn's Seq) and, on PostgreSQL, a growing conversation-update snapshot (the turns it is compared with; on SQLite a
    /// second query, cheaper there than the joined rows). Two reads each before.
    /// </summary>
    [Fact]
    public async Task TranscriptMessagesReadTheirCallAndItsTurnsInOneQuery()
    {
        var tenant = await factory.CreateTenantAsync("Counted transcripts");
        static string Turn(string role, string text, int second) =>
            $$"""{"role":"{{role}}","message":"{{text}}","time":{{1749546450000 + second * 1000}},"secondsFromStart":{{second}}.5}""";
        static string Snapshot(string callId, int turns) =>
            $$$"""{"message":{"type":"conversation-update","call":{"id":"{{{callId}}}"},"messages":[{{{string.Join(',', Enumerable.Range(0, turns).Select(i => Turn(i % 2 == 0 ? "bot" : "user", $"turn {i}", i * 2)))}}}]}}""";
        static string Final(string callId, string text) =>
            System.Text.Json.JsonSerializer.Serialize(new { message = new { type = "transcript", role = "user", transcriptType = "final", transcript = text, call = new { id = callId } } });

        var reads = new List<(string Message, int Reads, StatementCounter.Recording Sql)>();
        foreach (var counted in new[] { false, true }) // the first call compiles and prepares
        {
            var callId = Guid.NewGuid().ToString();
            Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Snapshot(callId, 2))).StatusCode);
            foreach (var (name, body) in new[] { ("snapshot of 4 turns", Snapshot(callId, 4)), ("final transcript", Final(callId, "Mon sous-sol est inondé")) })
            {
                await WarmCachesAsync(tenant.Id);
                using var sql = StatementCounter.Record();
                Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, body)).StatusCode);
                if (counted)
                {
                    reads.Add((name, sql.Commands.Count(c => c.TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase)), sql));
                }
            }
            var turns = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.CountAsync(t => db.Calls.Any(c => c.Id == t.CallId && c.ProviderCallId == callId)));
            Assert.Equal(5, turns); // the snapshot's four, then the final transcript's one (Seq 4)
        }
        Assert.All(reads, r => Assert.True(r.Reads == (r.Message.StartsWith("snapshot", StringComparison.Ordinal) && !TestDatabase.IsPostgres ? 2 : 1),
            $"{r.Message}: {r.Reads} reads in {r.Sql}"));
    }

    private async Task WarmCachesAsync(Guid tenantId)
    {
        await factory.Services.GetRequiredService<VapiTenantCache>().GetAsync(tenantId, CancellationToken.None);
        await factory.Services.GetRequiredService<TenantAccountCache>().GetAsync(tenantId, CancellationToken.None);
        await factory.WithDbAsync(tenantId, db => factory.Services.GetRequiredService<TenantConfigCache>().GetAsync(db, tenantId, CancellationToken.None));
        await factory.WithDbAsync(tenantId, db => factory.Services.GetRequiredService<WebhookEndpointCache>().GetAsync(db, tenantId, CancellationToken.None));
    }
}
