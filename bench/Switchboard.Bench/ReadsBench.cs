using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Switchboard.Bench;

/// <summary>
/// The dashboard read side at scale (issue 8 §4): seeds one tenant with N calls (default 1,000,000) and 100 other
/// tenants (<see cref="ReadsSeeder"/>), starts the real server as a child process on 127.0.0.1 over that database,
/// and measures sequential requests through HTTP with the tenant's secret key: list page 1, page 50 by cursor, each
/// filter, searches (common, rare, accents, hyphen, apostrophe, number fragment), call detail and 90-day analytics.
/// Reports p50/p95/max per scenario (ms, client-side, after warm-up) to bench/results/reads-{db}-{date}.json and prints a
/// Markdown table. <c>--reuse</c> keeps and reuses a seeded database (SQLite file or PostgreSQL database).
/// </summary>
internal static class ReadsBench
{
    private sealed record Options(string Db, int Calls, int OtherTenants, int OtherCalls, int Requests, int Warmup, string WorkDir, string PgAdmin,
        string PgDatabase, bool Reuse, string? Label, string? Only, bool Adopt);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--help"))
        {
            Console.WriteLine("""
                reads: --db sqlite|postgres  --calls 1000000  --other-tenants 100  --other-calls 200  --requests 200  --warmup 20
                       --workdir /tmp/sb-reads  --pg "Host=127.0.0.1;Port=55432;Username=switchboard;Database=postgres"  --pg-db sb_reads_bench
                       --reuse (keep the seeded database and reuse it when present)  --label TEXT  --only SUBSTRING[,SUBSTRING] (scenarios)
                       --adopt (with no state file: take over an already seeded database, giving its big tenant a new key; migrate it first)
                """);
            return 0;
        }
        var o = Parse(args);
        var repo = BenchEnv.RepoRoot();
        var serverDll = BenchEnv.FindServerDll(repo);
        var work = Directory.CreateDirectory(Path.Combine(o.WorkDir, o.Db)).FullName;
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        var ct = cts.Token;
        var now = DateTimeOffset.UtcNow;
        var loadAtStart = BenchEnv.LoadAverage();

        string connectionString;
        if (o.Db == "postgres")
        {
            connectionString = new NpgsqlConnectionStringBuilder(o.PgAdmin) { Database = o.PgDatabase, CommandTimeout = 3600 }.ConnectionString;
        }
        else
        {
            connectionString = $"Data Source={Path.Combine(work, "switchboard.db")}";
        }
        var statePath = Path.Combine(work, "seeded.json");
        ReadsSeeder.Seeded seeded;
        var seededNow = false;
        if (o.Reuse && File.Exists(statePath))
        {
            seeded = JsonSerializer.Deserialize<ReadsSeeder.Seeded>(await File.ReadAllTextAsync(statePath, ct))!;
            Console.WriteLine($"reusing the seeded database ({statePath})");
        }
        else if (o.Adopt)
        {
            seeded = await new ReadsSeeder(o.Db, connectionString, now).AdoptAsync(ct);
            await File.WriteAllTextAsync(statePath, JsonSerializer.Serialize(seeded), ct);
            Console.WriteLine($"adopted the seeded database (new key for tenant {seeded.TenantId})");
        }
        else
        {
            await ResetAsync(o, work, ct);
            Console.WriteLine($"migrating with the server's `migrate` command ({serverDll})");
            var (code, output) = await ServerProcess.RunCommandAsync(serverDll, work, Env(o.Db, connectionString), ["migrate"], TimeSpan.FromMinutes(5), ct);
            if (code != 0)
            {
                throw new InvalidOperationException($"migrate failed ({code}): {output}");
            }
            Console.WriteLine($"seeding {o.Calls:N0} calls + {o.OtherTenants} tenants × {o.OtherCalls} calls on {o.Db}");
            seeded = await new ReadsSeeder(o.Db, connectionString, now).SeedAsync(o.Calls, o.OtherTenants, o.OtherCalls, ct);
            await File.WriteAllTextAsync(statePath, JsonSerializer.Serialize(seeded), ct);
            seededNow = true;
        }

        var port = BenchEnv.FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        var env = Env(o.Db, connectionString);
        env["ASPNETCORE_URLS"] = baseUrl;
        await using var server = await ServerProcess.StartAsync(serverDll, work, env, new Uri(baseUrl + "/readyz"), TimeSpan.FromMinutes(2), ct);
        Console.WriteLine($"server ready on {baseUrl}, pid {server.Pid}");
        using var http = BenchEnv.NewHttpClient(4);
        http.BaseAddress = new Uri(baseUrl);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", seeded.ApiKey);

        // Inputs read through the API itself: page 50's cursor, and detail ids spread over the first pages.
        var cursor = (string?)null;
        var detailIds = new List<string>();
        for (var page = 1; page < 50; page++)
        {
            var json = await GetJsonAsync(http, "/api/v1/calls?pageSize=20" + (cursor is null ? "" : "&cursor=" + cursor), ct);
            cursor = json["nextCursor"]!.GetValue<string>();
            detailIds.AddRange(json["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
        }
        var localToday = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById("America/Toronto")).DateTime);
        var weekStart = now.AddDays(-200).ToString("yyyy-MM-dd'T'00:00:00'Z'", CultureInfo.InvariantCulture);
        var weekEnd = now.AddDays(-193).ToString("yyyy-MM-dd'T'00:00:00'Z'", CultureInfo.InvariantCulture);
        var scenarios = new List<(string Name, Func<int, string> Url)>
        {
            ("list page 1", _ => "/api/v1/calls?pageSize=20"),
            ("list page 50 (cursor)", _ => $"/api/v1/calls?pageSize=20&cursor={cursor}"),
            ("list page 5 (page number, with total)", _ => "/api/v1/calls?pageSize=20&page=5"),
            ("filter status=no-answer", _ => "/api/v1/calls?status=no-answer"),
            ("filter status=ended", _ => "/api/v1/calls?status=ended"),
            ("filter urgency=emergency", _ => "/api/v1/calls?urgency=emergency"),
            ("filter channel=web", _ => "/api/v1/calls?channel=web"),
            ("filter direction=outbound", _ => "/api/v1/calls?direction=outbound"),
            ("filter assistantId", _ => $"/api/v1/calls?assistantId={seeded.AssistantIds[1]}"),
            ("filter hasRecording=true", _ => "/api/v1/calls?hasRecording=true"),
            ("filter hasRecording=false", _ => "/api/v1/calls?hasRecording=false"),
            ("filter minDuration=300", _ => "/api/v1/calls?minDuration=300"),
            ("filter maxDuration=60", _ => "/api/v1/calls?maxDuration=60"),
            ("filter endedReason=voicemail", _ => "/api/v1/calls?endedReason=voicemail"),
            ("filter from/to (one week, 200 days ago)", _ => $"/api/v1/calls?from={weekStart}&to={weekEnd}"),
            ("filter number=438 (3 digits, frequent)", _ => "/api/v1/calls?number=438"),
            ("filter number=4385 (fragment)", _ => "/api/v1/calls?number=4385"),
            ("filter number=5142345 (rarer fragment)", _ => "/api/v1/calls?number=5142345"),
            ("filter urgency=emergency + channel=phone + from", _ => $"/api/v1/calls?urgency=emergency&channel=phone&from={weekStart}"),
            ("search q=eau (common, FR)", _ => "/api/v1/calls?q=eau"),
            ("search q=water (common, EN)", _ => "/api/v1/calls?q=water"),
            ("search q=inondé", _ => "/api/v1/calls?q=inond%C3%A9"),
            ("search q=inonde (accent folded)", _ => "/api/v1/calls?q=inonde"),
            ("search q=sous-sol", _ => "/api/v1/calls?q=sous-sol"),
            ("search q=l'eau chaude", _ => "/api/v1/calls?q=l'eau%20chaude"),
            ("search q=Tremblay", _ => "/api/v1/calls?q=Tremblay"),
            ($"search q={ReadsSeeder.RareWord} (rare: {ReadsSeeder.RareCount} calls)", _ => $"/api/v1/calls?q={ReadsSeeder.RareWord}"),
            ("search q=chauffe-eau + urgency=emergency", _ => "/api/v1/calls?q=chauffe-eau&urgency=emergency"),
            ("search q=\"NEAR AND* (syntax chars)", _ => "/api/v1/calls?q=%22NEAR%20AND*%20("),
            ("detail", i => $"/api/v1/calls/{detailIds[i % detailIds.Count]}"),
            ("analytics 90 days", _ => $"/api/v1/analytics?from={localToday.AddDays(-89):yyyy-MM-dd}&to={localToday:yyyy-MM-dd}"),
            ("analytics 30 days", _ => $"/api/v1/analytics?from={localToday.AddDays(-29):yyyy-MM-dd}&to={localToday:yyyy-MM-dd}"),
        };

        var results = new List<ScenarioResult>();
        foreach (var (name, url) in scenarios.Where(s => o.Only is null || o.Only.Split(',').Any(x => s.Name.Contains(x, StringComparison.Ordinal))))
        {
            var requests = name.StartsWith("analytics", StringComparison.Ordinal) ? Math.Max(20, o.Requests / 4) : o.Requests;
            results.Add(await MeasureAsync(http, name, url, o.Warmup, requests, ct));
            var r = results[^1];
            Console.WriteLine($"  {name,-50} p50 {r.P50,8:0.0} ms  p95 {r.P95,8:0.0} ms  max {r.Max,8:0.0} ms  items {r.Items}  errors {r.Errors}");
        }

        var report = new
        {
            Bench = "reads",
            Label = o.Label,
            Database = o.Db,
            Commit = BenchEnv.GitCommit(repo),
            At = now,
            Machine = new { Environment.ProcessorCount, LoadAtStart = loadAtStart, LoadAtEnd = BenchEnv.LoadAverage() },
            Options = o with { PgAdmin = "(redacted)", WorkDir = BenchEnv.Portable(o.WorkDir) },
            SeedSeconds = seededNow ? seeded.Seconds : (double?)null,
            DatabaseSize = await SizeAsync(o, work, connectionString, ct),
            Results = results,
        };
        var file = BenchEnv.ResultPath(Path.Combine(repo, "bench", "results"), $"reads-{o.Db}-{now:yyyy-MM-dd}{(o.Label is null ? "" : "-" + o.Label)}");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(report, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }), ct);
        Console.WriteLine($"\nwritten {file}\n");
        Console.WriteLine("| scenario | p50 ms | p95 ms | max ms | items |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var r in results)
        {
            Console.WriteLine($"| {r.Name} | {r.P50:0.0} | {r.P95:0.0} | {r.Max:0.0} | {r.Items} |");
        }
        return results.Any(r => r.Errors > 0) ? 1 : 0;
    }

    private sealed record ScenarioResult(string Name, int Requests, int Errors, double P50, double P95, double Max, int Items, string? FirstError);

    private static async Task<ScenarioResult> MeasureAsync(HttpClient http, string name, Func<int, string> url, int warmup, int requests, CancellationToken ct)
    {
        var times = new List<double>(requests);
        var errors = 0;
        string? firstError = null;
        var items = 0;
        for (var i = 0; i < warmup + requests; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync(url(i), ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            watch.Stop();
            if (!response.IsSuccessStatusCode)
            {
                errors++;
                firstError ??= $"{(int)response.StatusCode} {body[..Math.Min(300, body.Length)]}";
                continue;
            }
            if (i >= warmup)
            {
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
            if (i == 0 && body.StartsWith('{') && JsonNode.Parse(body)?["items"] is JsonArray array)
            {
                items = array.Count;
            }
        }
        var s = LatencySummary.Of(times);
        return new ScenarioResult(name, requests, errors, s.P50, Percentile(times, 0.95), s.Max, items, firstError);
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return 0;
        }
        var sorted = values.Order().ToArray();
        return Math.Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)], 3);
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient http, string url, CancellationToken ct)
    {
        using var response = await http.GetAsync(url, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {url}: {(int)response.StatusCode} {body}");
        }
        return JsonNode.Parse(body)!;
    }

    private static Dictionary<string, string> Env(string db, string connectionString) => new()
    {
        ["Switchboard__Database__Provider"] = db,
        ["Switchboard__Database__ConnectionString"] = connectionString,
        ["Switchboard__Billing__Plans__pro__RequestsPerMinute"] = "100000000",
        ["Switchboard__Billing__Plans__pro__RequestsPerMinutePerKey"] = "100000000",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    private static async Task ResetAsync(Options o, string work, CancellationToken ct)
    {
        if (o.Db == "postgres")
        {
            await using var admin = new NpgsqlConnection(o.PgAdmin);
            await admin.OpenAsync(ct);
            foreach (var sql in new[] { $"DROP DATABASE IF EXISTS \"{o.PgDatabase}\" WITH (FORCE)", $"CREATE DATABASE \"{o.PgDatabase}\"" })
            {
                await using var cmd = admin.CreateCommand();
                cmd.CommandText = sql;
                await cmd.ExecuteNonQueryAsync(ct);
            }
            return;
        }
        foreach (var f in Directory.GetFiles(work, "switchboard.db*"))
        {
            File.Delete(f);
        }
    }

    private static async Task<string> SizeAsync(Options o, string work, string connectionString, CancellationToken ct)
    {
        if (o.Db != "postgres")
        {
            var bytes = Directory.GetFiles(work, "switchboard.db*").Sum(f => new FileInfo(f).Length);
            return $"{bytes / 1048576.0:0} MB";
        }
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT pg_size_pretty(pg_database_size(current_database()))";
        return (string)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static Options Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var db = Get("--db", "sqlite");
        if (db is not ("sqlite" or "postgres"))
        {
            throw new ArgumentException("--db must be sqlite or postgres");
        }
        return new Options(db, int.Parse(Get("--calls", "1000000"), CultureInfo.InvariantCulture), int.Parse(Get("--other-tenants", "100"), CultureInfo.InvariantCulture),
            int.Parse(Get("--other-calls", "200"), CultureInfo.InvariantCulture), int.Parse(Get("--requests", "200"), CultureInfo.InvariantCulture),
            int.Parse(Get("--warmup", "20"), CultureInfo.InvariantCulture), Get("--workdir", Path.Combine(Path.GetTempPath(), "sb-reads")),
            Get("--pg", "Host=127.0.0.1;Port=55432;Username=switchboard;Database=postgres"), Get("--pg-db", "sb_reads_bench"),
            args.Contains("--reuse"), args.Contains("--label") ? Get("--label", "") : null, args.Contains("--only") ? Get("--only", "") : null,
            args.Contains("--adopt"));
    }
}
