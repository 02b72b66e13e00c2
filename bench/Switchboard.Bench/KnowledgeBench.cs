using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Switchboard.Credentials;
using Switchboard.Knowledge;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Bench;

/// <summary>
/// <c>knowledge</c> mode: retrieval latency of the knowledge base (issue 14 §3: p95 ≤ 15 ms at 10,000 chunks per tenant).
/// In process, per provider: a fresh database (a temporary SQLite file, or a new database on the PostgreSQL server given by
/// <c>--pg</c>) migrated by the real migrator; T tenants × D documents × C chunks of synthetic bilingual plumbing text
/// (~900 characters each, words drawn from a Zipf distribution over a real French/English vocabulary plus a long synthetic
/// tail, so some terms match most chunks and most match few), written through EF with the real tokenizer; then Q searches
/// through <see cref="KnowledgeSearch.SearchAsync"/> (the code web chat, the tool and Vapi call; keyword retrieval, no
/// embeddings), rotating tenants, half phrased questions and half random 2–5-term queries, one at a time after a warm-up.
/// Writes <c>bench/results/knowledge-&lt;provider&gt;-&lt;date&gt;.json</c>.
/// </summary>
internal static class KnowledgeBench
{
    internal const double TargetP95Ms = 15;

    private const string Usage = """
        knowledge [--db sqlite|postgres|both] [--pg "Host=127.0.0.1;Port=55432;Username=switchboard;Database=postgres"]
                  [--tenants 3] [--chunks 10000] [--queries 2000] [--warmup 300] [--keep]
        """;

    private static readonly string[] Vocabulary =
    [
        "plombier", "plomberie", "drain", "égout", "sous-sol", "inondé", "inondation", "refoulement", "chauffe-eau", "tuyau", "gelé", "éclaté",
        "fuite", "robinet", "toilette", "évier", "baignoire", "douche", "pompe", "puisard", "clapet", "antiretour", "débouchage", "caméra",
        "inspection", "urgence", "garde", "soir", "fin", "semaine", "samedi", "dimanche", "heures", "ouverture", "tarif", "prix", "déplacement",
        "facture", "garantie", "pièces", "main-d'œuvre", "Laval", "Longueuil", "Brossard", "Montréal", "Rive-Sud", "Rive-Nord", "Terrebonne",
        "eau", "chaude", "froide", "pression", "valve", "entrée", "principale", "compteur", "gaz", "électrique", "gallons", "remplacement",
        "réparation", "installation", "entretien", "rendez-vous", "rappel", "client", "adresse", "téléphone", "courriel", "paiement", "carte",
        "Interac", "chèque", "taxes", "estimation", "gratuite", "plumber", "plumbing", "sewer", "basement", "flooded", "flooding", "backup",
        "water", "heater", "pipe", "frozen", "burst", "leak", "faucet", "toilet", "sink", "bathtub", "shower", "sump", "pump", "backwater",
        "camera", "emergency", "on-call", "night", "weekend", "saturday", "sunday", "hours", "opening", "price", "fee", "service", "call",
        "invoice", "warranty", "parts", "labour", "area", "served", "south", "shore", "north", "hot", "cold", "pressure", "main", "meter",
        "gas", "electric", "replacement", "repair", "maintenance", "appointment", "callback", "customer", "address", "phone", "email", "payment",
    ];

    private static readonly string[] Stop = ["le", "la", "les", "de", "des", "du", "et", "est", "un", "une", "pour", "the", "a", "of", "and", "is", "to", "in"];

    private static readonly string[] Questions =
    [
        "Combien coûte un appel d'urgence la fin de semaine?", "Mon sous-sol est inondé, que faire?", "Êtes-vous ouverts le samedi?",
        "Desservez-vous Longueuil et Brossard?", "Le chauffe-eau fuit par le bas", "refoulement d'égout la nuit", "How much is an emergency call on a weekend?",
        "My basement is flooded", "Do you serve the South Shore?", "frozen pipe burst in the kitchen", "garantie sur les pièces et la main-d'œuvre",
        "inspection par caméra avant l'achat", "Do you accept Interac payment?", "l'eau chaude ne marche plus", "pompe de puisard installation prix",
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        string db = "both", pg = "Host=127.0.0.1;Port=55432;Username=switchboard;Database=postgres";
        int tenants = 3, chunks = 10_000, queries = 2000, warmup = 300;
        var keep = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--db": db = args[++i]; break;
                case "--pg": pg = args[++i]; break;
                case "--tenants": tenants = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--chunks": chunks = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--queries": queries = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--keep": keep = true; break;
                case "--help": Console.WriteLine(Usage); return 0;
                default: Console.Error.WriteLine(Usage); return 2;
            }
        }
        var providers = db == "both" ? new[] { "sqlite", "postgres" } : [db];
        var exit = 0;
        foreach (var provider in providers)
        {
            var result = await RunProviderAsync(provider, pg, tenants, chunks, queries, warmup, keep);
            var path = BenchEnv.ResultPath(Path.Combine(BenchEnv.RepoRoot(), "bench", "results"), $"knowledge-{provider}-{DateTime.UtcNow:yyyy-MM-dd}");
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"{provider}: CPU per search: bench process {result.ProcessCpuMsPerQuery:F2} ms, PostgreSQL backend {result.PostgresBackendCpuMsPerQuery:F2} ms; " +
                              (result.ThreadCpu is { } c ? $"thread CPU p50 {c.P50Ms:F2} p95 {c.P95Ms:F2} p99 {c.P99Ms:F2} ms; " : "") + $"load average {result.LoadAverage}");
            Console.WriteLine($"{provider}: p50 {result.All.P50Ms:F2} ms, p95 {result.All.P95Ms:F2} ms, p99 {result.All.P99Ms:F2} ms, max {result.All.MaxMs:F1} ms " +
                              $"(target p95 ≤ {TargetP95Ms} ms: {(result.All.P95Ms <= TargetP95Ms ? "met" : "NOT met")}) → {path}");
            exit |= result.All.P95Ms <= TargetP95Ms ? 0 : 1;
        }
        return exit;
    }

    internal sealed record Stats(int Count, double MeanMs, double P50Ms, double P95Ms, double P99Ms, double MaxMs, double MeanHits);

    internal sealed record Result(
        string Provider, DateTimeOffset At, int Tenants, int ChunksPerTenant, int TotalChunks, double AverageChunkChars, double LoadSeconds,
        int Queries, Stats All, Stats Questions, Stats RandomTerms, Stats? ThreadCpu, double ProcessCpuMsPerQuery, double PostgresBackendCpuMsPerQuery,
        double LoadAverage, string Machine);

    private static async Task<Result> RunProviderAsync(string provider, string pgAdmin, int tenantCount, int chunksPerTenant, int queryCount, int warmup, bool keep)
    {
        string connection;
        string? sqlitePath = null, pgName = null;
        if (provider == "postgres")
        {
            pgName = "sbbench_kb_" + Guid.NewGuid().ToString("N")[..12];
            await using (var admin = new NpgsqlConnection(pgAdmin))
            {
                await admin.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {pgName}", admin);
                await create.ExecuteNonQueryAsync();
            }
            connection = new NpgsqlConnectionStringBuilder(pgAdmin) { Database = pgName }.ConnectionString;
        }
        else
        {
            sqlitePath = Path.Combine(Path.GetTempPath(), $"sbbench-kb-{Guid.NewGuid():N}.db");
            connection = $"Data Source={sqlitePath}";
        }
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Switchboard:Database:Provider"] = provider,
            ["Switchboard:Database:ConnectionString"] = connection,
            ["Switchboard:Knowledge:EmbeddingsEnabled"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config);
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddMemoryCache();
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SecretProtector>();
        services.AddHttpClient();
        services.AddScoped<CurrentTenant>();
        services.AddSwitchboardDatabase();
        services.AddOptions<KnowledgeOptions>().BindConfiguration(KnowledgeOptions.Section);
        services.AddScoped<KnowledgeEmbeddings>();
        services.AddScoped<KnowledgeSearch>();
        await using var sp = services.BuildServiceProvider();
        try
        {
            await sp.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
            var random = new Random(42);
            var zipf = new Zipf(Vocabulary.Length + 20_000, 1.05, random);
            var tenantIds = Enumerable.Range(0, tenantCount).Select(_ => Guid.CreateVersion7()).ToList();
            var load = Stopwatch.StartNew();
            long chars = 0;
            foreach (var tenantId in tenantIds)
            {
                chars += await LoadTenantAsync(sp, tenantId, chunksPerTenant, zipf, random);
                Console.WriteLine($"{provider}: tenant {tenantId} loaded ({chunksPerTenant} chunks, {load.Elapsed.TotalSeconds:F0} s)");
            }
            load.Stop();
            if (provider == "postgres")
            {
                await using var scope = sp.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>().Database.ExecuteSqlRawAsync("ANALYZE");
            }

            var plan = Enumerable.Range(0, warmup + queryCount).Select(i =>
            {
                var phrased = i % 2 == 0;
                var text = phrased ? Questions[random.Next(Questions.Length)] : string.Join(' ', Enumerable.Range(0, random.Next(2, 6)).Select(_ => Word(zipf.Next())));
                return (Tenant: tenantIds[i % tenantIds.Count], Text: text, Phrased: phrased);
            }).ToList();
            var samples = new List<(double Ms, int Hits, bool Phrased)>(queryCount);
            var cpuSamples = new List<(double Ms, int Hits, bool Phrased)>(queryCount);
            TimeSpan processCpuStart = default;
            var backendCpuStart = 0.0;
            for (var i = 0; i < plan.Count; i++)
            {
                if (i == warmup)
                {
                    processCpuStart = Process.GetCurrentProcess().TotalProcessorTime;
                    backendCpuStart = await BackendCpuMsAsync(pgAdmin, pgName);
                }
                await using var scope = sp.CreateAsyncScope(); // one scope (DbContext) per search, as per request
                var search = scope.ServiceProvider.GetRequiredService<KnowledgeSearch>();
                var cpu = ThreadCpuMs();
                var started = Stopwatch.GetTimestamp();
                var hits = await search.SearchAsync(plan[i].Tenant, plan[i].Text, 5, CancellationToken.None);
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                var cpuMs = ThreadCpuMs() - cpu;
                if (i >= warmup)
                {
                    samples.Add((ms, hits.Count, plan[i].Phrased));
                    cpuSamples.Add((cpuMs, hits.Count, plan[i].Phrased));
                }
            }
            var processCpuPerQuery = (Process.GetCurrentProcess().TotalProcessorTime - processCpuStart).TotalMilliseconds / queryCount;
            var backendCpuPerQuery = pgName is null ? 0 : (await BackendCpuMsAsync(pgAdmin, pgName) - backendCpuStart) / queryCount;
            return new Result(provider, DateTimeOffset.UtcNow, tenantCount, chunksPerTenant, tenantCount * chunksPerTenant,
                Math.Round((double)chars / (tenantCount * chunksPerTenant), 1), Math.Round(load.Elapsed.TotalSeconds, 1), queryCount,
                StatsOf(samples), StatsOf(samples.Where(s => s.Phrased).ToList()), StatsOf(samples.Where(s => !s.Phrased).ToList()),
                provider == "sqlite" ? StatsOf(cpuSamples) : null, Math.Round(processCpuPerQuery, 3), Math.Round(backendCpuPerQuery, 3),
                LoadAverage(), $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        }
        finally
        {
            if (!keep)
            {
                if (sqlitePath is not null)
                {
                    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                    foreach (var suffix in new[] { "", "-wal", "-shm" })
                    {
                        File.Delete(sqlitePath + suffix);
                    }
                }
                if (pgName is not null)
                {
                    NpgsqlConnection.ClearAllPools();
                    await using var admin = new NpgsqlConnection(pgAdmin);
                    await admin.OpenAsync();
                    await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {pgName} WITH (FORCE)", admin);
                    await drop.ExecuteNonQueryAsync();
                }
            }
        }
    }

    /// <summary>Writes one tenant with 100-chunk documents through EF, batch by batch; returns the characters written.</summary>
    private static async Task<long> LoadTenantAsync(IServiceProvider sp, Guid tenantId, int chunkCount, Zipf zipf, Random random)
    {
        const int PerDocument = 100;
        long chars = 0;
        await using (var scope = sp.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            db.Tenants.Add(new Tenant { Id = tenantId, Name = "Bench " + tenantId.ToString("N")[..6], TimeZone = "America/Toronto", Locale = "fr-CA", VapiWebhookSecretProtected = "", CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }
        for (var start = 0; start < chunkCount; start += PerDocument)
        {
            await using var scope = sp.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var now = DateTimeOffset.UtcNow;
            var document = new KnowledgeDocument
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenantId,
                Title = $"Document {start / PerDocument}",
                SourceType = "text",
                ContentText = "(bench)",
                Sha256 = Guid.NewGuid().ToString("N"),
                CreatedAt = now,
                UpdatedAt = now,
                IndexedAt = now,
            };
            db.KnowledgeDocuments.Add(document);
            var n = Math.Min(PerDocument, chunkCount - start);
            for (var i = 0; i < n; i++)
            {
                var text = Paragraph(zipf, random);
                chars += text.Length;
                var heading = "Section " + Word(zipf.Next());
                db.KnowledgeChunks.Add(new KnowledgeChunk
                {
                    TenantId = tenantId,
                    DocumentId = document.Id,
                    Ordinal = i,
                    Heading = heading,
                    Text = text,
                    SearchText = TextFolding.SearchText(tenantId, heading, text),
                    Language = TextFolding.DetectLanguage(text),
                    CreatedAt = now,
                });
            }
            document.ChunkCount = n;
            await db.SaveChangesAsync();
        }
        return chars;
    }

    private static string Paragraph(Zipf zipf, Random random)
    {
        var sb = new StringBuilder(1000);
        while (sb.Length < 850)
        {
            var words = random.Next(8, 16);
            for (var w = 0; w < words; w++)
            {
                var word = random.NextDouble() < 0.35 ? Stop[random.Next(Stop.Length)] : Word(zipf.Next());
                sb.Append(w == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word).Append(w == words - 1 ? ". " : " ");
            }
        }
        return sb.ToString().Trim();
    }

    /// <summary>Rank r (0-based) → a word: the real vocabulary first (most frequent), then synthetic letters-only words.</summary>
    private static string Word(int rank)
    {
        if (rank < Vocabulary.Length)
        {
            return Vocabulary[rank];
        }
        var n = rank - Vocabulary.Length;
        var sb = new StringBuilder("mot");
        do
        {
            sb.Append((char)('a' + n % 26));
            n /= 26;
        }
        while (n > 0);
        return sb.ToString();
    }

    private static Stats StatsOf(List<(double Ms, int Hits, bool Phrased)> samples)
    {
        if (samples.Count == 0)
        {
            return new Stats(0, 0, 0, 0, 0, 0, 0);
        }
        var sorted = samples.Select(s => s.Ms).Order().ToArray();
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new Stats(sorted.Length, Math.Round(sorted.Average(), 3), Math.Round(P(0.50), 3), Math.Round(P(0.95), 3), Math.Round(P(0.99), 3),
            Math.Round(sorted[^1], 3), Math.Round(samples.Average(s => s.Hits), 2));
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int clock_gettime(int clock, out Timespec time);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in ms. Microsoft.Data.Sqlite completes synchronously, so a SQLite search runs on one thread.</summary>
    private static double ThreadCpuMs() => clock_gettime(3, out var t) == 0 ? t.Seconds * 1000.0 + t.Nanoseconds / 1e6 : 0;

    /// <summary>CPU time (user + system, ms) of the PostgreSQL backends serving the bench database, from /proc (same machine).</summary>
    private static async Task<double> BackendCpuMsAsync(string pgAdmin, string? database)
    {
        if (database is null)
        {
            return 0;
        }
        await using var admin = new NpgsqlConnection(pgAdmin);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE datname = @d", admin);
        cmd.Parameters.AddWithValue("d", database);
        var total = 0.0;
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{reader.GetInt32(0)}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0; // clock ticks of 10 ms
            }
            catch (IOException)
            {
                // The backend ended.
            }
        }
        return total;
    }

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>Zipf(s) sampler over ranks 0..n-1 by inverse CDF.</summary>
    private sealed class Zipf
    {
        private readonly double[] cdf;
        private readonly Random random;

        public Zipf(int n, double s, Random random)
        {
            this.random = random;
            cdf = new double[n];
            double sum = 0;
            for (var k = 0; k < n; k++)
            {
                sum += 1.0 / Math.Pow(k + 1, s);
                cdf[k] = sum;
            }
            for (var k = 0; k < n; k++)
            {
                cdf[k] /= sum;
            }
        }

        public int Next()
        {
            var i = Array.BinarySearch(cdf, random.NextDouble());
            return Math.Min(cdf.Length - 1, i < 0 ? ~i : i);
        }
    }
}
