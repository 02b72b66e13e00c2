using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// The inserts written outside the change tracker (<see cref="SwitchboardDbContext.InsertOnSave(object)"/>'s multi-row INSERTs and
/// <see cref="SwitchboardDbContext.InsertEventOfCallAsync"/>) look up their model metadata and SQL once per model and type, not
/// per row (issue 13). Rows written through the cached shapes, on a second and third use, are the rows EF's own tracked insert
/// writes, column for column, with the number rule applied (a NaN stored as null).
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiInsertShapeTests(CountingWebhookFactory factory) : IClassFixture<CountingWebhookFactory>
{
    [Fact]
    public async Task QueuedInsertsWriteTheRowsATrackedInsertWrites()
    {
        var tenant = await factory.CreateTenantAsync("Insert shapes, queued");
        var now = factory.Clock.GetUtcNow();
        var call = await NewCallAsync(tenant.Id, now);

        // The tracked reference rows, then the same values queued, in three units of work (the first may build the shapes;
        // the next ones use them), 1 event and 3 turns per unit (one multi-row INSERT of turns on SQLite).
        var reference = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var e = Event(tenant.Id, call.Id, now, "ref");
            var turns = Turns(tenant.Id, call.Id, now, 0);
            db.CallEvents.Add(e);
            db.TranscriptTurns.AddRange(turns);
            await db.SaveChangesAsync();
            return (Event: e.Id, Turns: turns.Select(t => t.Id).ToArray());
        });
        var queued = new List<(Guid Event, Guid[] Turns)>();
        var native = SwitchboardDbContext.NativeStatements;
        for (var unit = 1; unit <= 3; unit++)
        {
            var seq = unit * 3;
            queued.Add(await factory.WithDbAsync(tenant.Id, async db =>
            {
                var e = Event(tenant.Id, call.Id, now, "queued-" + unit);
                var turns = Turns(tenant.Id, call.Id, now, seq);
                await using var tx = await db.Database.BeginTransactionAsync(); // on SQLite, the multi-row INSERT path
                db.InsertOnSave(e);
                db.InsertOnSave(turns);
                Assert.Equal(4, await db.SaveChangesAsync());
                await tx.CommitAsync();
                return (e.Id, turns.Select(t => t.Id).ToArray());
            }));
        }

        var events = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.AsNoTracking().Where(e => e.CallId == call.Id).ToDictionaryAsync(e => e.Id));
        var stored = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id).ToDictionaryAsync(t => t.Id));
        Assert.Equal(4, events.Count);
        Assert.Equal(12, stored.Count);
        foreach (var (e, turns) in queued)
        {
            AssertSameColumns(events[reference.Event], events[e], nameof(CallEvent.Id), nameof(CallEvent.IdempotencyKey));
            for (var i = 0; i < turns.Length; i++)
            {
                AssertSameColumns(stored[reference.Turns[i]], stored[turns[i]], nameof(TranscriptTurn.Id), nameof(TranscriptTurn.Seq));
            }
        }
        Assert.Null(stored[reference.Turns[1]].SecondsFromStart); // the NaN, by the number rule, on both paths
        Assert.Null(stored[queued[2].Turns[1]].SecondsFromStart);
        if (!TestDatabase.IsPostgres)
        {
            // Bound natively (no SqliteParameter): two statements per unit, and each stored value is the one Microsoft.Data.Sqlite's
            // binder stores for EF's parameter, storage class and bytes (a GUID's case, a time's ticks), not only equal once read back.
            Assert.True(SwitchboardDbContext.NativeStatements - native >= 6, $"{SwitchboardDbContext.NativeStatements - native} native statements");
            foreach (var (e, turns) in queued)
            {
                AssertSameStored(await StoredAsync<CallEvent>(tenant.Id, reference.Event), await StoredAsync<CallEvent>(tenant.Id, e), "Id", "IdempotencyKey");
                for (var i = 0; i < turns.Length; i++)
                {
                    AssertSameStored(await StoredAsync<TranscriptTurn>(tenant.Id, reference.Turns[i]), await StoredAsync<TranscriptTurn>(tenant.Id, turns[i]), "Id", "Seq");
                }
            }
        }
    }

    [Fact]
    public async Task EventOfCallInsertsWriteTheRowATrackedInsertWritesForEachSetOfRequiredFields()
    {
        var tenant = await factory.CreateTenantAsync("Insert shapes, event of call");
        var now = factory.Clock.GetUtcNow();
        var call = await NewCallAsync(tenant.Id, now);
        var reference = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var e = Event(tenant.Id, call.Id, now, "ref");
            db.CallEvents.Add(e);
            await db.SaveChangesAsync();
            return e.Id;
        });

        // Each set twice, from lists of equal content but different instances (the statement is cached by content), and
        // one set naming a field the call lacks, which writes nothing.
        string[][] sets = [[], [nameof(Call.CustomerNumber)], [nameof(Call.Type), nameof(Call.CustomerNumber)], [], [nameof(Call.CustomerNumber)]];
        var written = new List<Guid>();
        var direct = SwitchboardDbContext.DirectStatements;
        var native = SwitchboardDbContext.NativeStatements;
        foreach (var set in sets)
        {
            var e = Event(tenant.Id, null, now, "fast-" + written.Count);
            Assert.True(await InsertEventOfCallAsync(tenant.Id, e, call.ProviderCallId, set.ToList(), now - TimeSpan.FromMinutes(1)));
            written.Add(e.Id);
        }
        if (!TestDatabase.IsPostgres)
        {
            // On the group commit's connection, bound to its cached statement directly, not through EF's raw SQL pipeline.
            Assert.True(SwitchboardDbContext.DirectStatements - direct >= sets.Length, $"{SwitchboardDbContext.DirectStatements - direct} direct statements");
            Assert.True(SwitchboardDbContext.NativeStatements - native >= sets.Length, $"{SwitchboardDbContext.NativeStatements - native} native statements");
        }
        var refused = Event(tenant.Id, null, now, "refused");
        Assert.False(await InsertEventOfCallAsync(tenant.Id, refused, call.ProviderCallId, [nameof(Call.CustomerNumber), nameof(Call.EndedAt)], now - TimeSpan.FromMinutes(1)));
        Assert.False(await InsertEventOfCallAsync(tenant.Id, refused, call.ProviderCallId, [], now)); // updated at now: not after now
        await Assert.ThrowsAsync<ArgumentException>(() => InsertEventOfCallAsync(tenant.Id, refused, call.ProviderCallId, ["NoSuchProperty"], now));

        var events = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.AsNoTracking().Where(e => e.CallId == call.Id).ToDictionaryAsync(e => e.Id));
        Assert.Equal(1 + sets.Length, events.Count);
        foreach (var id in written)
        {
            AssertSameColumns(events[reference], events[id], nameof(CallEvent.Id), nameof(CallEvent.IdempotencyKey));
            if (!TestDatabase.IsPostgres)
            {
                AssertSameStored(await StoredAsync<CallEvent>(tenant.Id, reference), await StoredAsync<CallEvent>(tenant.Id, id), "Id", "IdempotencyKey");
            }
        }
    }

    /// <summary>
    /// The row of <typeparamref name="T"/> with id <paramref name="id"/> as SQLite stores it: per column, the storage class
    /// (<c>typeof</c>) and the value, read with no conversion (a GUID stored in lower case would differ from EF's upper case).
    /// </summary>
    private Task<Dictionary<string, string>> StoredAsync<T>(Guid tenantId, Guid id) => factory.WithDbAsync(tenantId, async db =>
    {
        var table = db.Model.FindEntityType(typeof(T))!.GetTableName();
        await db.Database.OpenConnectionAsync();
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\" WHERE upper(\"Id\") = @id";
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@id";
            parameter.Value = id.ToString().ToUpperInvariant();
            command.Parameters.Add(parameter);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync(), $"{table} has no row {id}");
            var row = new Dictionary<string, string>();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                var value = reader.GetValue(i);
                row[reader.GetName(i)] = value is DBNull ? "null" : $"{value.GetType().Name}:{Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)}";
            }
            return row;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    });

    private static void AssertSameStored(Dictionary<string, string> expected, Dictionary<string, string> actual, params string[] except)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (column, value) in expected.Where(c => !except.Contains(c.Key)))
        {
            Assert.True(value == actual[column], $"{column}: stored {actual[column]}, EF stores {value}");
        }
        Assert.Matches("^String:[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$", expected["TenantId"]); // EF's GUIDs: upper-case text
    }

    private async Task<bool> InsertEventOfCallAsync(Guid tenantId, CallEvent row, string providerCallId, IReadOnlyList<string> set, DateTimeOffset updatedAfter)
    {
        using var scope = factory.Scope();
        scope.ServiceProvider.GetRequiredService<Switchboard.Tenancy.CurrentTenant>().Set(tenantId);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        if (db.Database.IsSqlite())
        {
            var groupCommit = scope.ServiceProvider.GetRequiredService<SqliteGroupCommit>();
            return await groupCommit.RunAsync(db, WritePriority.Normal, () => db.InsertEventOfCallAsync(row, providerCallId, set, updatedAfter, CancellationToken.None), CancellationToken.None);
        }
        return await db.InsertEventOfCallAsync(row, providerCallId, set, updatedAfter, CancellationToken.None);
    }

    private Task<Call> NewCallAsync(Guid tenantId, DateTimeOffset now) => factory.WithDbAsync(tenantId, async db =>
    {
        var call = new Call
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Channel = "phone",
            Provider = "vapi",
            ProviderCallId = Guid.NewGuid().ToString(),
            Type = "inboundPhoneCall",
            CustomerNumber = "+15145550142",
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Calls.Add(call);
        await db.SaveChangesAsync();
        return call;
    });

    /// <summary>An event with every column set: a lone-surrogate-free payload, a provider time, unusable fields.</summary>
    private static CallEvent Event(Guid tenantId, Guid? callId, DateTimeOffset now, string key) => new()
    {
        Id = Guid.CreateVersion7(),
        TenantId = tenantId,
        CallId = callId,
        Provider = "vapi",
        Type = "speech-update",
        IdempotencyKey = key + "-" + Guid.NewGuid().ToString("N"),
        PayloadJson = """{"message":{"type":"speech-update","status":"started","note":"é ✓"}}""",
        ProviderTimestamp = now - TimeSpan.FromMilliseconds(1234.5678),
        ReceivedAt = now,
        UnusableFields = """["$.message.cost"]""",
    };

    /// <summary>Three turns: every column set; a NaN (stored as null); nulls.</summary>
    private static List<TranscriptTurn> Turns(Guid tenantId, Guid callId, DateTimeOffset now, int seq) =>
    [
        new() { Id = Guid.CreateVersion7(), TenantId = tenantId, CallId = callId, Seq = seq, Role = "user", Text = "Mon sous-sol est inondé", SecondsFromStart = 1.25, At = now, ProviderLatencyMs = 412.5, BridgeLatencyMs = 3.75 },
        new() { Id = Guid.CreateVersion7(), TenantId = tenantId, CallId = callId, Seq = seq + 1, Role = "assistant", Text = "D'accord.", SecondsFromStart = double.NaN, At = now + TimeSpan.FromSeconds(2) },
        new() { Id = Guid.CreateVersion7(), TenantId = tenantId, CallId = callId, Seq = seq + 2, Role = "tool_call", Text = "{}" },
    ];

    private static void AssertSameColumns<T>(T expected, T actual, params string[] except)
    {
        foreach (var property in typeof(T).GetProperties().Where(p => !except.Contains(p.Name)))
        {
            Assert.True(Equals(property.GetValue(expected), property.GetValue(actual)), $"{typeof(T).Name}.{property.Name}: {property.GetValue(expected)} ≠ {property.GetValue(actual)}");
        }
    }
}
