using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Bench;

/// <summary>
/// Seeds the read-side benchmark's database in bulk: one big tenant with N calls spread over the last 365 days, and
/// M small tenants, each call with 4 transcript turns (French or English, realistic plumbing vocabulary), a raw
/// provider event, a lead for half of them and an SMS for emergencies. SQLite: prepared multi-row INSERTs in large
/// transactions with the search and urgency triggers dropped, then the FTS5 index rebuilt in one pass and the triggers
/// restored. PostgreSQL: binary COPY with the GIN index dropped and the urgency trigger disabled, then the index rebuilt
/// and ANALYZE. Deterministic (seeded Random), so runs are comparable.
/// </summary>
internal sealed class ReadsSeeder(string provider, string connectionString, DateTimeOffset now)
{
    private readonly bool postgres = provider == "postgres";
    private readonly Random random = new(20261130);

    /// <summary>The word planted in exactly <see cref="RareCount"/> calls of the big tenant (the "rare word" searches).</summary>
    public const string RareWord = "zanzibar";
    public const int RareCount = 40;

    public sealed record Seeded(Guid TenantId, string ApiKey, Guid[] AssistantIds, double Seconds);

    private static readonly string[] FirstNames = ["Jean", "Marie", "Luc", "Sophie", "Pierre", "Isabelle", "Michel", "Nathalie", "John", "Sarah", "David", "Emily", "André", "Hélène", "François", "Geneviève"];
    private static readonly string[] LastNames = ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Smith", "Brown", "Wilson"];
    private static readonly string[] Streets = ["rue Saint-Denis", "boulevard René-Lévesque", "rue Sherbrooke", "avenue du Parc", "rue Ontario", "chemin de la Côte-des-Neiges", "rue Notre-Dame", "boulevard Saint-Laurent", "Main Street", "Elm Avenue", "rue des Érables"];
    private static readonly string[] FrProblems =
    [
        "mon sous-sol est inondé depuis ce matin", "il y a de l'eau partout dans la salle de bain", "mon chauffe-eau fait un bruit étrange",
        "la toilette déborde", "le drain de la cuisine est bouché", "un tuyau a éclaté sous l'évier", "je n'ai plus d'eau chaude",
        "il y a une odeur d'égout dans la maison", "le robinet coule sans arrêt", "je voudrais une soumission pour un adoucisseur d'eau",
    ];
    private static readonly string[] EnProblems =
    [
        "my basement is flooded", "there is water everywhere in the bathroom", "the water heater is making a strange noise",
        "the toilet is overflowing", "the kitchen drain is clogged", "a pipe burst under the sink", "I have no hot water",
        "there is a sewer smell in the house", "the faucet keeps dripping", "I would like a quote for a water softener",
    ];
    private static readonly string[] EndedReasons =
    [
        "customer-ended-call", "customer-ended-call", "customer-ended-call", "assistant-ended-call", "assistant-ended-call", "silence-timed-out",
        "customer-did-not-answer", "exceeded-max-duration", "assistant-forwarded-call", "voicemail", "pipeline-error-openai-llm-failed",
    ];

    public async Task<Seeded> SeedAsync(int bigCalls, int otherTenants, int otherCalls, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var (tenantId, apiKey, assistants, others) = await CreateTenantsAsync(otherTenants, ct);
        await using var conn = await OpenAsync(ct);
        var restore = await PrepareAsync(conn, ct);
        await WriteTenantCallsAsync(conn, tenantId, assistants, bigCalls, plantRare: true, ct);
        foreach (var (other, otherAssistants) in others)
        {
            await WriteTenantCallsAsync(conn, other, otherAssistants, otherCalls, plantRare: false, ct);
        }
        Console.WriteLine($"  rows written in {clock.Elapsed.TotalSeconds:0} s; rebuilding the search index and statistics");
        await FinishAsync(conn, restore, ct);
        Console.WriteLine($"  seeded in {clock.Elapsed.TotalSeconds:0} s");
        return new Seeded(tenantId, apiKey, assistants, clock.Elapsed.TotalSeconds);
    }

    private async Task<(Guid, string, Guid[], List<(Guid, Guid[])>)> CreateTenantsAsync(int otherTenants, CancellationToken ct)
    {
        var options = new DbContextOptionsBuilder<SwitchboardDbContext>();
        if (postgres) { options.UseNpgsql(connectionString); } else { options.UseSqlite(connectionString); }
        await using var db = new SwitchboardDbContext(options.Options).Rent(new CurrentTenant());
        var key = ApiKeys.Generate();
        Guid bigId = default;
        Guid[] bigAssistants = [];
        var others = new List<(Guid, Guid[])>();
        for (var i = 0; i <= otherTenants; i++)
        {
            var tenant = new Tenant
            {
                Id = Guid.CreateVersion7(), Name = i == 0 ? "Drain Fortin (bench)" : $"Plomberie {i}", TimeZone = "America/Toronto", Locale = "fr-CA",
                VapiWebhookSecretProtected = "unused", UrgencyRules = UrgencyRules.Plumbing, CreatedAt = now.AddDays(-400),
            };
            db.Tenants.Add(tenant);
            var assistants = Enumerable.Range(0, 3).Select(_ => Guid.CreateVersion7()).ToArray();
            foreach (var (a, n) in assistants.Select((a, n) => (a, n)))
            {
                db.Assistants.Add(new Switchboard.Assistants.Assistant
                {
                    Id = a, TenantId = tenant.Id, Name = $"Assistant {n}", Provider = "native", Languages = ["fr-CA", "en-US"], IsDefault = n == 0, CreatedAt = tenant.CreatedAt,
                });
            }
            if (i == 0)
            {
                db.ApiKeys.Add(new ApiKey { Id = Guid.CreateVersion7(), TenantId = tenant.Id, Name = "bench", Prefix = key.Prefix, Hash = key.Hash, CreatedAt = now });
                (bigId, bigAssistants) = (tenant.Id, assistants);
            }
            else
            {
                others.Add((tenant.Id, assistants));
            }
        }
        await db.SaveChangesAsync(ct);
        return (bigId, key.Plaintext, bigAssistants, others);
    }

    /// <summary>
    /// Takes over a database seeded earlier whose state file is gone (the key's plaintext is never stored): the tenant
    /// named "Drain Fortin (bench)" gets a new secret key, and its assistants are read back.
    /// </summary>
    public async Task<Seeded> AdoptAsync(CancellationToken ct)
    {
        var options = new DbContextOptionsBuilder<SwitchboardDbContext>();
        if (postgres) { options.UseNpgsql(connectionString); } else { options.UseSqlite(connectionString); }
        await using var db = new SwitchboardDbContext(options.Options).Rent(new CurrentTenant());
        var tenant = await db.Tenants.IgnoreQueryFilters().SingleAsync(t => t.Name == "Drain Fortin (bench)", ct);
        var assistants = await db.Assistants.IgnoreQueryFilters().Where(a => a.TenantId == tenant.Id).OrderBy(a => a.Id).Select(a => a.Id).ToArrayAsync(ct);
        var key = ApiKeys.Generate();
        db.ApiKeys.Add(new ApiKey { Id = Guid.CreateVersion7(), TenantId = tenant.Id, Name = "bench (adopted)", Prefix = key.Prefix, Hash = key.Hash, CreatedAt = now });
        await db.SaveChangesAsync(ct);
        return new Seeded(tenant.Id, key.Plaintext, assistants, 0);
    }

    private async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        DbConnection conn = postgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString);
        await conn.OpenAsync(ct);
        return conn;
    }

    /// <summary>Drops what slows bulk loading; returns the SQL that restores it.</summary>
    private async Task<List<string>> PrepareAsync(DbConnection conn, CancellationToken ct)
    {
        var restore = new List<string>();
        if (postgres)
        {
            foreach (var name in new[] { "IX_calls_search", "IX_calls_customer_digits" })
            {
                var index = await ScalarAsync(conn, $"SELECT indexdef FROM pg_indexes WHERE indexname = '{name}'", ct);
                await ExecAsync(conn, $"DROP INDEX \"{name}\"", ct);
                restore.Add((string)index!);
            }
            await ExecAsync(conn, "ALTER TABLE leads DISABLE TRIGGER leads_urgency", ct);
            restore.Add("ALTER TABLE leads ENABLE TRIGGER leads_urgency");
            return restore;
        }
        await ExecAsync(conn, "PRAGMA synchronous=OFF", ct);
        await ExecAsync(conn, "PRAGMA cache_size=-400000", ct);
        await using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'calls_search_%' OR name LIKE 'calls_number_%' OR name LIKE 'leads_urgency_%')";
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                restore.Add(r.GetString(1));
            }
        }
        foreach (var sql in restore)
        {
            var name = sql.Split('"')[1];
            await ExecAsync(conn, $"DROP TRIGGER \"{name}\"", ct);
        }
        return restore;
    }

    private async Task FinishAsync(DbConnection conn, List<string> restore, CancellationToken ct)
    {
        if (postgres)
        {
            foreach (var sql in restore)
            {
                await ExecAsync(conn, sql, ct, TimeSpan.FromHours(1));
            }
            await ExecAsync(conn, "VACUUM ANALYZE", ct, TimeSpan.FromHours(1));
            return;
        }
        await ExecAsync(conn, "INSERT INTO calls_search(calls_search) VALUES('rebuild')", ct, TimeSpan.FromHours(1));
        await ExecAsync(conn, "INSERT INTO calls_number(calls_number) VALUES('rebuild')", ct, TimeSpan.FromHours(1));
        foreach (var sql in restore)
        {
            await ExecAsync(conn, sql, ct);
        }
        await ExecAsync(conn, "PRAGMA synchronous=FULL", ct);
        await ExecAsync(conn, "ANALYZE", ct, TimeSpan.FromHours(1));
        await ExecAsync(conn, "PRAGMA wal_checkpoint(TRUNCATE)", ct, TimeSpan.FromHours(1));
    }

    private static readonly string[] CallColumns =
    [
        "Id", "TenantId", "Channel", "Provider", "ProviderCallId", "CallSid", "Type", "Status", "CustomerNumber", "BusinessNumber", "StartedAt", "EndedAt",
        "DurationSeconds", "EndedReason", "Cost", "RecordingUrl", "StereoRecordingUrl", "Summary", "StructuredDataJson", "SuccessEvaluation",
        "TranscriptText", "TranscriptFinal", "Analyzed", "CreatedAt", "UpdatedAt", "AssistantId", "Language", "GreetingLatencyMs", "Urgency",
    ];
    private static readonly string[] TurnColumns = ["Id", "TenantId", "CallId", "Seq", "Role", "Text", "SecondsFromStart", "At", "ProviderLatencyMs", "BridgeLatencyMs"];
    private static readonly string[] LeadColumns = ["Id", "TenantId", "CallId", "Name", "Phone", "Address", "Problem", "Urgency", "Source", "CreatedAt", "UpdatedAt"];
    private static readonly string[] EventColumns = ["Id", "TenantId", "CallId", "Provider", "Type", "IdempotencyKey", "PayloadJson", "ProviderTimestamp", "ReceivedAt"];
    private static readonly string[] SmsColumns =
    [
        "Id", "TenantId", "CallId", "LeadId", "Direction", "Purpose", "To", "From", "Body", "Status", "MessageSid", "ErrorCode", "ErrorMessage", "Attempts",
        "IdempotencyKey", "SendAfter", "CreatedAt", "SentAt",
    ];

    private async Task WriteTenantCallsAsync(DbConnection conn, Guid tenantId, Guid[] assistants, int count, bool plantRare, CancellationToken ct)
    {
        const int batch = 20_000;
        var rare = plantRare ? Enumerable.Range(0, RareCount).Select(_ => random.Next(count)).ToHashSet() : [];
        // Rows go in in time order, as a live system writes them (SQLite rowids then follow time, like in production).
        times = new Queue<DateTimeOffset>(Enumerable.Range(0, count).Select(_ => NextCreated()).Order());
        var written = 0;
        var progress = Stopwatch.StartNew();
        while (written < count)
        {
            var n = Math.Min(batch, count - written);
            var calls = new List<object?[]>(n);
            var turns = new List<object?[]>(n * 4);
            var leads = new List<object?[]>(n / 2);
            var events = new List<object?[]>(n);
            var sms = new List<object?[]>(n / 10);
            for (var i = 0; i < n; i++)
            {
                MakeCall(tenantId, assistants, rare.Contains(written + i), calls, turns, leads, events, sms);
            }
            await using (var tx = await conn.BeginTransactionAsync(ct))
            {
                await WriteAsync(conn, tx, "calls", CallColumns, calls, ct);
                await WriteAsync(conn, tx, "transcript_turns", TurnColumns, turns, ct);
                await WriteAsync(conn, tx, "leads", LeadColumns, leads, ct);
                await WriteAsync(conn, tx, "call_events", EventColumns, events, ct);
                await WriteAsync(conn, tx, "sms_messages", SmsColumns, sms, ct);
                await tx.CommitAsync(ct);
            }
            written += n;
            if (count >= 100_000)
            {
                Console.WriteLine($"  {written:N0}/{count:N0} calls ({written / Math.Max(1, progress.Elapsed.TotalSeconds):0}/s)");
            }
        }
    }

    private Queue<DateTimeOffset> times = new();

    /// <summary>A creation time spread over 365 days, mostly in the day (local business hours ≈ 12:00–23:00 UTC).</summary>
    private DateTimeOffset NextCreated()
    {
        var day = now.UtcDateTime.Date.AddDays(-random.Next(365));
        var hour = random.NextDouble() < 0.8 ? 12 + random.NextDouble() * 11 : random.NextDouble() * 24;
        var created = new DateTimeOffset(day, TimeSpan.Zero).AddHours(hour).AddMilliseconds(random.Next(1000));
        return created > now ? now.AddMinutes(-random.Next(1, 600)) : created;
    }

    private void MakeCall(Guid tenantId, Guid[] assistants, bool rare, List<object?[]> calls, List<object?[]> turns, List<object?[]> leads,
        List<object?[]> events, List<object?[]> sms)
    {
        var created = times.Dequeue();
        var id = Guid.CreateVersion7(created);
        var native = random.NextDouble() < 0.4;
        var web = !native && random.NextDouble() < 0.1;
        var outbound = !native && !web && random.NextDouble() < 0.05;
        var missed = random.NextDouble() < 0.08;
        var duration = missed ? 0 : Math.Round(Math.Exp(4 + random.NextDouble() * 2.2), 1); // ≈ 55 s … 8 min
        var french = random.NextDouble() < 0.7;
        var first = FirstNames[random.Next(FirstNames.Length)];
        var last = LastNames[random.Next(LastNames.Length)];
        var street = $"{random.Next(10, 9999)} {Streets[random.Next(Streets.Length)]}";
        var problemIndex = random.Next(10);
        var problem = french ? FrProblems[problemIndex] : EnProblems[problemIndex];
        var number = $"+1{new[] { "514", "438", "450", "819", "418" }[random.Next(5)]}{random.Next(2, 10)}{random.Next(0, 1_000_000):000000}";
        var roll = random.NextDouble();
        string? urgency = problemIndex < 3 && roll < 0.5 ? "emergency" : roll < 0.3 ? "soon" : roll < 0.6 ? "routine" : null;
        if (missed)
        {
            urgency = null;
        }
        string[] lines = french
            ?
            [
                "Plomberie Fortin, bonjour! Comment puis-je vous aider?",
                $"Bonjour, c'est {first} {last}, {problem}{(rare ? " depuis notre retour de Zanzibar" : "")}.",
                $"Je comprends. Quelle est votre adresse, {first}?",
                $"C'est au {street}, vous pouvez me rappeler au {number}.",
            ]
            :
            [
                "Fortin Plumbing, hello! How can I help you?",
                $"Hi, this is {first} {last}, {problem}{(rare ? " since we came back from Zanzibar" : "")}.",
                $"I understand. What is your address, {first}?",
                $"It's {street}, you can call me back at {number}.",
            ];
        var summary = french
            ? $"{first} {last} appelle : {problem}. Adresse : {street}."
            : $"{first} {last} called: {problem}. Address: {street}.";
        var status = missed ? (native ? new[] { "no-answer", "busy", "canceled" }[random.Next(3)] : "ended") : native ? "completed" : "ended";
        var endedReason = missed && !native ? "customer-did-not-answer" : native ? null : EndedReasons[random.Next(EndedReasons.Length)];
        var started = missed ? (DateTimeOffset?)null : created.AddSeconds(2);
        calls.Add(
        [
            id, tenantId, web ? "web" : "voice", native ? "twilio" : "vapi", native ? $"CA{id:N}" : id.ToString(), native ? $"CA{id:N}" : null,
            native ? null : web ? "webCall" : outbound ? "outboundPhoneCall" : "inboundPhoneCall", status, web ? null : number, "+15145550100",
            started, started?.AddSeconds(duration), missed ? (double?)0 : duration, endedReason, native ? null : (decimal?)Math.Round((decimal)duration * 0.0012m, 4),
            !missed && random.NextDouble() < 0.7 ? $"https://storage.vapi.ai/{id:N}-mono.wav" : null, null, missed ? null : summary, null, null,
            missed ? null : string.Join('\n', lines.Select((l, i) => (i % 2 == 0 ? "AI: " : "User: ") + l)), true, true, created, created.AddSeconds(duration + 5),
            native ? assistants[random.Next(assistants.Length)] : null, french ? "fr-CA" : "en-US", native ? 350 + random.NextDouble() * 300 : null, urgency,
        ]);
        if (!missed)
        {
            for (var seq = 0; seq < lines.Length; seq++)
            {
                var assistant = seq % 2 == 0;
                double? providerMs = native && assistant && seq > 0 ? Math.Round(500 + random.NextDouble() * random.NextDouble() * 1500, 2) : null;
                turns.Add(
                [
                    Guid.CreateVersion7(created), tenantId, id, seq, assistant ? "assistant" : "user", lines[seq], seq * duration / lines.Length,
                    started!.Value.AddSeconds(seq * duration / lines.Length), providerMs, providerMs is null ? null : Math.Round(random.NextDouble() * 3, 3),
                ]);
            }
        }
        Guid? leadId = null;
        if (urgency is not null)
        {
            leadId = Guid.CreateVersion7(created);
            leads.Add([leadId, tenantId, id, $"{first} {last}", number, street, problem, urgency, "structured-data", created.AddSeconds(duration + 5), created.AddSeconds(duration + 5)]);
        }
        events.Add(
        [
            Guid.CreateVersion7(created), tenantId, id, native ? "twilio" : "vapi", native ? "status-callback" : "end-of-call-report", $"bench-{id:N}",
            $$$"""{"message":{"type":"end-of-call-report","call":{"id":"{{{id}}}"},"endedReason":"{{{endedReason}}}","durationSeconds":{{{duration.ToString(CultureInfo.InvariantCulture)}}}}}""",
            created.AddSeconds(duration + 4), created.AddSeconds(duration + 5),
        ]);
        if (urgency == "emergency")
        {
            sms.Add(
            [
                Guid.CreateVersion7(created), tenantId, id, leadId, "outbound", "emergency-alert", "+15145550111", "+15145550199",
                $"URGENT {first} {last} {number}: {problem}", "delivered", $"SM{id:N}", null, null, 1, $"bench-sms-{id:N}", null,
                created.AddSeconds(duration + 6), created.AddSeconds(duration + 7),
            ]);
        }
    }

    private async Task WriteAsync(DbConnection conn, DbTransaction tx, string table, string[] columns, List<object?[]> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        var columnList = string.Join(", ", columns.Select(c => $"\"{c}\""));
        if (conn is NpgsqlConnection pg)
        {
            await using var copy = await pg.BeginBinaryImportAsync($"COPY {table} ({columnList}) FROM STDIN (FORMAT BINARY)", ct);
            foreach (var row in rows)
            {
                await copy.StartRowAsync(ct);
                foreach (var value in row)
                {
                    if (value is null) { await copy.WriteNullAsync(ct); }
                    else if (value is DateTimeOffset d) { await copy.WriteAsync(d.ToUniversalTime(), NpgsqlTypes.NpgsqlDbType.TimestampTz, ct); }
                    else { await copy.WriteAsync(value, ct); }
                }
            }
            await copy.CompleteAsync(ct);
            return;
        }
        // SQLite: one single-row INSERT per table, prepared once per transaction and re-bound for every row.
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"INSERT INTO \"{table}\" ({columnList}) VALUES ({string.Join(", ", columns.Select((_, i) => "@p" + i))})";
        var parameters = columns.Select((_, i) =>
        {
            var p = cmd.CreateParameter();
            p.ParameterName = "@p" + i;
            cmd.Parameters.Add(p);
            return p;
        }).ToArray();
        await cmd.PrepareAsync(ct);
        foreach (var row in rows)
        {
            for (var c = 0; c < columns.Length; c++)
            {
                parameters[c].Value = row[c] switch
                {
                    null => DBNull.Value,
                    Guid g => g.ToString().ToUpperInvariant(),
                    DateTimeOffset d => d.UtcTicks,
                    bool b => b ? 1 : 0,
                    decimal m => (double)m,
                    var v => v,
                };
            }
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    private static async Task ExecAsync(DbConnection conn, string sql, CancellationToken ct, TimeSpan? timeout = null)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.CommandTimeout = (int)(timeout ?? TimeSpan.FromMinutes(5)).TotalSeconds;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(DbConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteScalarAsync(ct);
    }
}
