using System.Data;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using Npgsql;
using Switchboard.Platform.Database;
using Switchboard.Vapi;

namespace Switchboard.Bench;

/// <summary>
/// <c>vapi</c> mode: signed Vapi end-of-call reports (the July 2024 fixture with a fresh <c>message.call.id</c> per
/// request) against the real server, started as a child process on 127.0.0.1 over a fresh database, rate limit raised.
/// Phases, per provider: warm-up; open loop at a constant rate (latency measured from each request's scheduled send
/// time, so a stalled server cannot hide queueing: no coordinated omission); closed loop with C workers (sustained
/// maximum); then, with the server stopped, the raw insert rate of the very rows one request wrote (copied from the
/// server's database, new ids each time) through the same ADO.NET driver into a second fresh database migrated by the
/// server's own <c>migrate</c> command, one transaction per request, same concurrency. Writes
/// <c>bench/results/vapi-&lt;provider&gt;-&lt;date&gt;[-label].json</c>.
/// </summary>
internal static class VapiBench
{
    internal const double TargetP99Ms = 25;
    private const double TargetRate = 500;
    private const double TargetRawFraction = 0.5;

    public static async Task<int> RunAsync(string[] args)
    {
        VapiBenchOptions o;
        try
        {
            o = VapiBenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(VapiBenchOptions.Usage);
            return 2;
        }
        if (o.Help)
        {
            Console.WriteLine(VapiBenchOptions.Usage);
            return 0;
        }

        var repo = BenchEnv.RepoRoot();
        var serverDll = o.ServerDll ?? BenchEnv.FindServerDll(repo);
        var fixturePath = o.Fixture ?? Path.Combine(Path.GetDirectoryName(repo)!, "shared", "fixtures", "vapi", "end-of-call-report.2024-07.json");
        if (!File.Exists(fixturePath))
        {
            Console.Error.WriteLine($"Fixture not found: {fixturePath} (use --fixture)");
            return 2;
        }
        Console.WriteLine($"server: {serverDll}");
        Console.WriteLine($"fixture: {fixturePath}");

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };

        var exit = 0;
        ThrowawayPostgres? cluster = null;
        try
        {
            foreach (var provider in o.Providers)
            {
                string? pgAdmin = null;
                if (provider == "postgres")
                {
                    if (o.Pg is not null)
                    {
                        pgAdmin = o.Pg;
                    }
                    else
                    {
                        cluster ??= await ThrowawayPostgres.StartAsync(o.PgSettings, cts.Token);
                        pgAdmin = cluster.AdminConnectionString;
                    }
                }
                var result = await RunProviderAsync(provider, o, serverDll, fixturePath, repo, pgAdmin, cluster, cts.Token);
                Report.Print(result);
                if (!o.NoSave)
                {
                    var file = BenchEnv.ResultPath(o.OutDir ?? Path.Combine(repo, "bench", "results"), $"vapi-{provider}-{DateTime.UtcNow:yyyy-MM-dd}{(o.Label is null ? "" : "-" + o.Label)}");
                    await File.WriteAllTextAsync(file, JsonSerializer.Serialize(result, Report.Json), CancellationToken.None);
                    Console.WriteLine($"written: {Path.GetRelativePath(Environment.CurrentDirectory, file)}");
                }
                if (!result.Verdict.AllPassed)
                {
                    exit = 1;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Console.Error.WriteLine("cancelled");
            exit = 130;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or DbException or IOException)
        {
            Console.Error.WriteLine($"bench failed: {e.Message}");
            exit = 3;
        }
        finally
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
        }
        return exit;
    }

    private static async Task<VapiBenchResult> RunProviderAsync(
        string provider, VapiBenchOptions o, string serverDll, string fixturePath, string repo, string? pgAdmin, ThrowawayPostgres? cluster, CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory("switchboard-bench-vapi-");
        var serverDir = Directory.CreateDirectory(Path.Combine(work.FullName, "server")).FullName;
        var rawDir = Directory.CreateDirectory(Path.Combine(work.FullName, "raw")).FullName;
        // Production settings as shipped: the server's appsettings.json sits in the content root (its working directory).
        var appsettings = Path.Combine(Path.GetDirectoryName(serverDll)!, "appsettings.json");
        if (File.Exists(appsettings))
        {
            File.Copy(appsettings, Path.Combine(serverDir, "appsettings.json"));
        }

        var db = DbTarget.Create(provider, work.FullName, pgAdmin, o.PgOptions).WithCluster(provider == "postgres" ? cluster : null);
        ServerProcess? server = null;
        var started = DateTimeOffset.UtcNow;
        Console.WriteLine();
        Console.WriteLine($"=== {provider}: {db.Describe()} ===");
        var loadAtStart = BenchEnv.LoadAverage();
        try
        {
            await db.CreateAsync(ct);
            var port = BenchEnv.FreePort();
            var baseUrl = $"http://127.0.0.1:{port}";
            var env = new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = baseUrl,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Switchboard__Database__Provider"] = provider,
                ["Switchboard__Database__ConnectionString"] = db.ServerConnectionString,
                ["Switchboard__Vapi__RateLimitPerMinute"] = "1000000", // the validated maximum (16 667 req/s)
                ["Switchboard__Demo__SeedOnEmptyDatabase"] = "true",
                ["Logging__LogLevel__Default"] = "Warning",
            };
            foreach (var (k, v) in o.ServerEnv)
            {
                env[k] = v;
            }
            Console.WriteLine($"starting server on {baseUrl} (cwd {serverDir})");
            server = await ServerProcess.StartAsync(serverDll, serverDir, env, new Uri(baseUrl + "/readyz"), TimeSpan.FromSeconds(90), ct);
            Console.WriteLine($"server ready, pid {server.Pid}");
            var creds = await DemoCredentialsFile.ReadAsync(Path.Combine(serverDir, "data", "demo-credentials.json"), ct);
            var url = new Uri($"{baseUrl}/webhooks/vapi/{creds.TenantId}");

            var bodies = new BodyFactory(await File.ReadAllTextAsync(fixturePath, ct), creds.Secret);
            using var http = BenchEnv.NewHttpClient(Math.Max(o.Concurrency, 512));

            // Warm-up: JIT, connection pools, page cache. Closed loop; its rate sizes the closed-loop body pool.
            Console.WriteLine($"warm-up: {o.Concurrency} workers, {o.WarmupSeconds} s");
            var warm = await Load.ClosedLoopAsync(http, url, o.Concurrency, TimeSpan.FromSeconds(o.WarmupSeconds), BodySource.OnTheFly(bodies), server, db, ct);
            Console.WriteLine($"  {warm.RequestsPerSecond:F0} req/s, p50 {warm.LatencyMs.P50:F1} ms, errors {warm.Errors} {Report.Kinds(warm.ErrorsByKind)}");
            if (warm.Ok == 0)
            {
                throw new InvalidOperationException("No request succeeded during warm-up; server log: " + server.LogPath + "\n" + server.LogTail());
            }

            // What one request writes: row counts around a few sequential requests, and the rows of one call (the raw template).
            var rowsBefore = await db.CountRowsAsync(db.ServerConnectionString, ct);
            var probe = bodies.Next();
            var probeError = await Load.SendAsync(http, url, probe, ct);
            if (probeError is not null)
            {
                throw new InvalidOperationException($"Probe request failed: {probeError}\n{server.LogTail()}");
            }
            var rowsAfterProbe = await db.CountRowsAsync(db.ServerConnectionString, ct);
            var perRequest = RowCounts.Delta(rowsBefore, rowsAfterProbe, 1);
            var template = await RowTemplate.ExtractAsync(db, probe.CallId, ct);
            Console.WriteLine($"one request writes: {RowCounts.Describe(perRequest)}; raw template: {template.Describe()}");
            if (template.RowCount != (int)Math.Round(perRequest.Values.Sum()))
            {
                Console.WriteLine($"!! the raw template has {template.RowCount} rows but one request added {perRequest.Values.Sum()}: raw figures cover only the template's tables");
            }

            // Open loop at the target rate.
            var openCount = (int)Math.Round(o.Rate * o.OpenSeconds);
            Console.WriteLine($"open loop: {o.Rate} req/s for {o.OpenSeconds} s ({openCount} requests, pre-built and signed)");
            var openBodies = bodies.Build(openCount);
            var rowsBeforeOpen = await db.CountRowsAsync(db.ServerConnectionString, ct);
            var open = await Load.OpenLoopAsync(http, url, openBodies, o.Rate, server, db, ct);
            var rowsAfterOpen = await db.CountRowsAsync(db.ServerConnectionString, ct);
            var openRows = RowCounts.Delta(rowsBeforeOpen, rowsAfterOpen, open.Ok);
            Console.WriteLine($"  {open.RequestsPerSecond:F0} req/s ok={open.Ok} err={open.Errors} p50 {open.LatencyMs.P50:F1} p99 {open.LatencyMs.P99:F1} max {open.LatencyMs.Max:F1} ms");
            openBodies = null;

            // Optional sweep: where does p99 hold?
            var sweep = new List<PhaseResult>();
            foreach (var rate in o.Sweep)
            {
                var sweepBodies = bodies.Build((int)Math.Max(1, Math.Round(rate * o.SweepSeconds)));
                var phase = await Load.OpenLoopAsync(http, url, sweepBodies, rate, server, db, ct);
                sweep.Add(phase);
                Console.WriteLine($"  sweep {rate:0} req/s: achieved {phase.RequestsPerSecond:F0}, err {phase.Errors}, p50 {phase.LatencyMs.P50:F1} p99 {phase.LatencyMs.P99:F1} max {phase.LatencyMs.Max:F1} ms");
            }

            // Closed loop: sustained maximum.
            var poolSize = (int)Math.Clamp(Math.Ceiling(Math.Max(warm.RequestsPerSecond, o.Rate) * 2 * o.ClosedSeconds), 1000, o.MaxRequests);
            Console.WriteLine($"closed loop: {o.Concurrency} workers for {o.ClosedSeconds} s (pool of {poolSize} pre-built requests)");
            var closedBodies = bodies.Build(poolSize);
            var closed = await Load.ClosedLoopAsync(http, url, o.Concurrency, TimeSpan.FromSeconds(o.ClosedSeconds), BodySource.Pool(closedBodies), server, db, ct);
            closedBodies = null;
            Console.WriteLine($"  {closed.RequestsPerSecond:F0} req/s ok={closed.Ok} err={closed.Errors} p50 {closed.LatencyMs.P50:F1} p99 {closed.LatencyMs.P99:F1} ms{(closed.PoolExhausted ? " (pool exhausted)" : "")}");

            var serverStats = new ServerStats(server.Pid, server.CpuTime().TotalSeconds, server.PeakWorkingSetMb(), await db.CountRowsAsync(db.ServerConnectionString, ct));
            await server.DisposeAsync();
            server = null;

            // Raw insert rate of the same rows, same driver, fresh database migrated by the server's `migrate` command.
            Console.WriteLine("raw: migrating a fresh database with the server's `migrate` command");
            var migrateEnv = new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Switchboard__Database__Provider"] = provider,
                ["Switchboard__Database__ConnectionString"] = db.RawConnectionString,
                ["Logging__LogLevel__Default"] = "Warning",
            };
            var (code, output) = await ServerProcess.RunCommandAsync(serverDll, rawDir, migrateEnv, ["migrate"], TimeSpan.FromSeconds(120), ct);
            if (code != 0)
            {
                throw new InvalidOperationException($"migrate failed ({code}): {output}");
            }
            await template.CopyTenantAsync(db, ct);
            Console.WriteLine($"raw warm-up: {o.Concurrency} connections, 2 s");
            await RawInsert.RunAsync(db, template, o.Concurrency, TimeSpan.FromSeconds(2), o.MaxRequests, cluster, ct);
            Console.WriteLine($"raw insert: {o.Concurrency} connections for {o.RawSeconds} s");
            var raw = await RawInsert.RunAsync(db, template, o.Concurrency, TimeSpan.FromSeconds(o.RawSeconds), o.MaxRequests, cluster, ct);
            Console.WriteLine($"  {raw.TransactionsPerSecond:F0} tx/s, {raw.RowsPerSecond:F0} rows/s, p50 {raw.LatencyMs.P50:F2} p99 {raw.LatencyMs.P99:F2} ms");
            RawResult? rawSerial = null;
            if (o.RawSerialSeconds > 0 && o.Concurrency != 1)
            {
                Console.WriteLine($"raw insert: 1 connection for {o.RawSerialSeconds} s");
                rawSerial = await RawInsert.RunAsync(db, template, 1, TimeSpan.FromSeconds(o.RawSerialSeconds), o.MaxRequests, cluster, ct);
                Console.WriteLine($"  {rawSerial.TransactionsPerSecond:F0} tx/s, {rawSerial.RowsPerSecond:F0} rows/s");
            }

            var verdict = new Verdict(
                OpenLoopP99Ms: open.LatencyMs.P99,
                OpenLoopAchievedRate: open.RequestsPerSecond,
                P99Target: $"p99 <= {TargetP99Ms} ms at {TargetRate} req/s",
                P99Passed: open.LatencyMs.P99 <= TargetP99Ms && o.Rate >= TargetRate && open.Errors == 0 && open.RequestsPerSecond >= 0.98 * o.Rate,
                RatioToRaw: raw.TransactionsPerSecond > 0 ? closed.RequestsPerSecond / raw.TransactionsPerSecond : 0,
                RatioToBestRaw: Math.Max(raw.TransactionsPerSecond, rawSerial?.TransactionsPerSecond ?? 0) is > 0 and var best ? closed.RequestsPerSecond / best : 0,
                HighestOpenLoopRateMeetingP99: sweep.Prepend(open)
                    .Where(p => p.LatencyMs.P99 <= TargetP99Ms && p.Errors == 0 && p.RequestsPerSecond >= 0.98 * p.TargetRate!.Value)
                    .Select(p => p.TargetRate).Max(),
                RatioTarget: $"closed-loop req/s >= {TargetRawFraction} x the best raw insert transactions/s ({o.Concurrency} or 1 connection)",
                // Against the better of the two raw rates: on SQLite, 16 connections contending for the one writer can be
                // slower than one, and a limit crippled by contention would flatter the server.
                RatioPassed: closed.Errors == 0 && Math.Max(raw.TransactionsPerSecond, rawSerial?.TransactionsPerSecond ?? 0) is > 0 and var bestRaw
                    && closed.RequestsPerSecond >= TargetRawFraction * bestRaw);

            return new VapiBenchResult(
                Benchmark: "vapi end-of-call-report",
                Provider: provider,
                Database: db.Describe(),
                StartedAt: started,
                FinishedAt: DateTimeOffset.UtcNow,
                Commit: BenchEnv.GitCommit(repo),
                Machine: new MachineInfo(Environment.ProcessorCount, Environment.MachineName, RuntimeLabel(), loadAtStart, BenchEnv.LoadAverage(), BenchEnv.TotalMemoryMb()),
                Options: new Dictionary<string, string>(o.Describe()) { ["server"] = BenchEnv.Portable(serverDll) },
                Fixture: Path.GetFileName(fixturePath),
                BodyBytes: bodies.TypicalBodyBytes,
                RowsPerRequest: perRequest,
                RowsPerRequestOpenLoop: openRows,
                Warmup: warm,
                OpenLoop: open,
                Sweep: sweep,
                ClosedLoop: closed,
                Raw: raw,
                RawSerial: rawSerial,
                Server: serverStats,
                Verdict: verdict);
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
            SqliteConnection.ClearAllPools();
            NpgsqlConnection.ClearAllPools();
            try
            {
                await db.DropAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is DbException or IOException or InvalidOperationException)
            {
                Console.Error.WriteLine($"cleanup: {e.Message}");
            }
            if (!o.KeepFiles)
            {
                try
                {
                    work.Delete(recursive: true);
                }
                catch (IOException e)
                {
                    Console.Error.WriteLine($"cleanup: {e.Message}");
                }
            }
            else
            {
                Console.WriteLine($"kept: {work.FullName}");
            }
        }
    }

    private static string RuntimeLabel() => $"{System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription} {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
}

/// <summary>Command-line options of the <c>vapi</c> mode.</summary>
internal sealed class VapiBenchOptions
{
    public const string Usage = """
        vapi: signed Vapi end-of-call reports against the real server on 127.0.0.1, and the raw insert rate of the same rows.
          --db sqlite|postgres|both   databases to run on (default both)
          --pg "Host=..;Port=..;Username=.."   PostgreSQL server where databases may be created (default: a throwaway
                                      cluster started with initdb + pg_ctl, as ./test.sh does)
          --pg-setting name=value     extra setting for the throwaway cluster (repeatable), e.g. fsync=off
          --pg-options "K=V;..."      Npgsql connection-string options for both the server and the raw inserts,
                                      e.g. "Max Auto Prepare=32;No Reset On Close=true"
          --rate N                    open-loop rate, requests/s (default 500)
          --open-seconds N            open-loop duration (default 20)
          --concurrency N             closed-loop workers and raw connections (default 16)
          --closed-seconds N          closed-loop duration (default 20)
          --raw-seconds N             raw insert duration (default 20)
          --raw-serial-seconds N      raw insert with one connection, for reference (default 10, 0 = skip)
          --warmup N                  warm-up seconds (default 15: tiered JIT is slow to settle on a busy machine)
          --sweep R1,R2,...           extra open-loop phases at these rates (after the main one), to find where p99 holds
          --sweep-seconds N           duration of each sweep phase (default 10)
          --max-requests N            cap on pre-built closed-loop requests and raw transactions (default 100000)
          --server PATH               Switchboard.dll (default src/Switchboard/bin/Release/net10.0, else .build/switchboard)
          --server-env NAME=VALUE     extra environment for the server (repeatable), e.g. Switchboard__Outbox__WorkerEnabled=false
          --fixture PATH              Vapi message body (default ../shared/fixtures/vapi/end-of-call-report.2024-07.json)
          --label TEXT                suffix of the result file name (vapi-<db>-<date>-<label>.json)
          --out DIR                   results folder (default bench/results)
          --no-save                   print only
          --keep                      keep the temporary folder (databases, server log)
        """;

    public List<string> Providers { get; private set; } = ["sqlite", "postgres"];
    public string? Pg { get; private set; }
    public string? PgOptions { get; private set; }
    public List<string> PgSettings { get; } = [];
    public double Rate { get; private set; } = 500;
    public double OpenSeconds { get; private set; } = 20;
    public int Concurrency { get; private set; } = 16;
    public double ClosedSeconds { get; private set; } = 20;
    public double RawSeconds { get; private set; } = 20;
    public double RawSerialSeconds { get; private set; } = 10;
    public double WarmupSeconds { get; private set; } = 15;
    public List<double> Sweep { get; } = [];
    public double SweepSeconds { get; private set; } = 10;
    public int MaxRequests { get; private set; } = 100_000;
    public string? ServerDll { get; private set; }
    public List<KeyValuePair<string, string>> ServerEnv { get; } = [];
    public string? Fixture { get; private set; }
    public string? Label { get; private set; }
    public string? OutDir { get; private set; }
    public bool NoSave { get; private set; }
    public bool KeepFiles { get; private set; }
    public bool Help { get; private set; }

    public static VapiBenchOptions Parse(string[] args)
    {
        var o = new VapiBenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            double Positive() => double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 && d < 1e7
                ? d : throw new ArgumentException($"{args[i - 1]}: expected a positive number");
            double NonNegative() => double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 && d < 1e7
                ? d : throw new ArgumentException($"{args[i - 1]}: expected a number >= 0");
            KeyValuePair<string, string> Pair()
            {
                var v = Value();
                var eq = v.IndexOf('=');
                return eq > 0 ? new(v[..eq], v[(eq + 1)..]) : throw new ArgumentException($"{args[i - 1]}: expected NAME=VALUE");
            }
            switch (args[i])
            {
                case "--db":
                    o.Providers = Value() switch
                    {
                        "sqlite" => ["sqlite"],
                        "postgres" or "pg" => ["postgres"],
                        "both" => ["sqlite", "postgres"],
                        var v => throw new ArgumentException($"--db: unknown '{v}'"),
                    };
                    break;
                case "--pg": o.Pg = Value(); break;
                case "--pg-options": o.PgOptions = Value(); break;
                case "--pg-setting": var s = Pair(); o.PgSettings.Add($"{s.Key}={s.Value}"); break;
                case "--rate": o.Rate = Positive(); break;
                case "--open-seconds": o.OpenSeconds = Positive(); break;
                case "--concurrency": o.Concurrency = (int)Math.Clamp(Positive(), 1, 1024); break;
                case "--closed-seconds": o.ClosedSeconds = Positive(); break;
                case "--raw-seconds": o.RawSeconds = Positive(); break;
                case "--raw-serial-seconds": o.RawSerialSeconds = NonNegative(); break;
                case "--warmup": o.WarmupSeconds = Positive(); break;
                case "--sweep":
                    o.Sweep.Clear();
                    foreach (var r in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        o.Sweep.Add(double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate > 0 && rate < 1e6
                            ? rate : throw new ArgumentException($"--sweep: bad rate '{r}'"));
                    }
                    break;
                case "--sweep-seconds": o.SweepSeconds = Positive(); break;
                case "--max-requests": o.MaxRequests = (int)Math.Clamp(Positive(), 100, 5_000_000); break;
                case "--server": o.ServerDll = Path.GetFullPath(Value()); break;
                case "--server-env": o.ServerEnv.Add(Pair()); break;
                case "--fixture": o.Fixture = Path.GetFullPath(Value()); break;
                case "--label": o.Label = string.Concat(Value().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-')); break;
                case "--out": o.OutDir = Path.GetFullPath(Value()); break;
                case "--no-save": o.NoSave = true; break;
                case "--keep": o.KeepFiles = true; break;
                case "--help" or "-h": o.Help = true; break;
                default: throw new ArgumentException($"Unknown option {args[i]}");
            }
        }
        return o;
    }

    public Dictionary<string, string> Describe() => new()
    {
        ["rate"] = Rate.ToString(CultureInfo.InvariantCulture),
        ["openSeconds"] = OpenSeconds.ToString(CultureInfo.InvariantCulture),
        ["concurrency"] = Concurrency.ToString(CultureInfo.InvariantCulture),
        ["closedSeconds"] = ClosedSeconds.ToString(CultureInfo.InvariantCulture),
        ["rawSeconds"] = RawSeconds.ToString(CultureInfo.InvariantCulture),
        ["rawSerialSeconds"] = RawSerialSeconds.ToString(CultureInfo.InvariantCulture),
        ["warmupSeconds"] = WarmupSeconds.ToString(CultureInfo.InvariantCulture),
        ["sweep"] = string.Join(',', Sweep.Select(r => r.ToString(CultureInfo.InvariantCulture))),
        ["sweepSeconds"] = SweepSeconds.ToString(CultureInfo.InvariantCulture),
        ["maxRequests"] = MaxRequests.ToString(CultureInfo.InvariantCulture),
        ["pgOptions"] = PgOptions ?? "",
        ["pg"] = Pg is null ? "throwaway cluster" + (PgSettings.Count > 0 ? " " + string.Join(' ', PgSettings) : "") : "external",
        ["serverEnv"] = string.Join(' ', ServerEnv.Select(kv => $"{kv.Key}={kv.Value}")),
        ["label"] = Label ?? "",
    };
}

/// <summary>One signed request body: the fixture with a fresh call id.</summary>
internal sealed record SignedBody(byte[] Body, string Signature, string CallId);

/// <summary>Makes signed bodies: the fixture's <c>message.call.id</c> replaced by a fresh UUID, HMAC-SHA256 hex in <c>x-vapi-signature</c>.</summary>
internal sealed class BodyFactory
{
    private readonly string template;
    private readonly string oldCallId;
    private readonly string secret;

    public BodyFactory(string fixture, string secret)
    {
        using var doc = JsonDocument.Parse(fixture);
        oldCallId = doc.RootElement.GetProperty("message").GetProperty("call").GetProperty("id").GetString()
            ?? throw new InvalidOperationException("The fixture has no message.call.id");
        template = fixture;
        this.secret = secret;
        TypicalBodyBytes = Encoding.UTF8.GetByteCount(fixture);
    }

    public int TypicalBodyBytes { get; }

    public SignedBody Next()
    {
        var callId = Guid.NewGuid().ToString();
        var bytes = Encoding.UTF8.GetBytes(template.Replace(oldCallId, callId, StringComparison.Ordinal));
        return new SignedBody(bytes, "sha256=" + VapiSignatureVerifier.Sign(bytes, secret), callId);
    }

    public SignedBody[] Build(int count)
    {
        var result = new SignedBody[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = Next();
        }
        return result;
    }
}

/// <summary>Where closed-loop workers take their next body: a pre-built pool (bounded) or built on the fly (warm-up).</summary>
internal sealed class BodySource
{
    private readonly SignedBody[]? pool;
    private readonly BodyFactory? factory;
    private int next = -1;

    private BodySource(SignedBody[]? pool, BodyFactory? factory)
    {
        this.pool = pool;
        this.factory = factory;
    }

    public static BodySource Pool(SignedBody[] pool) => new(pool, null);

    public static BodySource OnTheFly(BodyFactory factory) => new(null, factory);

    public bool Exhausted { get; private set; }

    public SignedBody? Take()
    {
        if (pool is null)
        {
            return factory!.Next();
        }
        var i = Interlocked.Increment(ref next);
        if (i < pool.Length)
        {
            return pool[i];
        }
        Exhausted = true;
        return null;
    }
}

internal sealed record LatencySummary(int Count, double Mean, double P50, double P90, double P99, double P999, double Max)
{
    public static LatencySummary Of(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        if (sorted.Length == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0, 0);
        }
        double P(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new LatencySummary(sorted.Length, Math.Round(sorted.Average(), 3), Math.Round(P(0.50), 3), Math.Round(P(0.90), 3),
            Math.Round(P(0.99), 3), Math.Round(P(0.999), 3), Math.Round(sorted[^1], 3));
    }
}

/// <summary>Resource use during a phase: CPU seconds of the server, of the database (throwaway PostgreSQL) and of this process; machine CPU busy fraction.</summary>
internal sealed record PhaseResources(double ServerCpuSeconds, double? DatabaseCpuSeconds, double BenchCpuSeconds, double MachineCpuBusy, string LoadAverageAfter);

internal sealed record PhaseResult(
    string Name,
    int Concurrency,
    double? TargetRate,
    double DurationSeconds,
    int Sent,
    int Ok,
    int Errors,
    Dictionary<string, int> ErrorsByKind,
    double RequestsPerSecond,
    LatencySummary LatencyMs,
    double? MaxSendLagMs,
    bool PoolExhausted,
    double ServerCpuMsPerRequest,
    double? DatabaseCpuMsPerRequest,
    PhaseResources Resources);

internal sealed record RawResult(
    int Concurrency,
    double DurationSeconds,
    int Transactions,
    int Rows,
    int Errors,
    double TransactionsPerSecond,
    double RowsPerSecond,
    LatencySummary LatencyMs,
    double? DatabaseCpuMsPerTransaction,
    PhaseResources Resources);

internal sealed record ServerStats(int Pid, double CpuSecondsTotal, double PeakWorkingSetMb, Dictionary<string, long> RowsAtEnd);

internal sealed record MachineInfo(int Cores, string Host, string Runtime, string LoadAverageAtStart, string LoadAverageAtEnd, long MemoryMb);

internal sealed record Verdict(
    double OpenLoopP99Ms,
    double OpenLoopAchievedRate,
    string P99Target,
    bool P99Passed,
    double RatioToRaw,
    double RatioToBestRaw,
    double? HighestOpenLoopRateMeetingP99,
    string RatioTarget,
    bool RatioPassed)
{
    public bool AllPassed => P99Passed && RatioPassed;
}

internal sealed record VapiBenchResult(
    string Benchmark,
    string Provider,
    string Database,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    string Commit,
    MachineInfo Machine,
    Dictionary<string, string> Options,
    string Fixture,
    int BodyBytes,
    Dictionary<string, double> RowsPerRequest,
    Dictionary<string, double> RowsPerRequestOpenLoop,
    PhaseResult Warmup,
    PhaseResult OpenLoop,
    List<PhaseResult> Sweep,
    PhaseResult ClosedLoop,
    RawResult Raw,
    RawResult? RawSerial,
    ServerStats Server,
    Verdict Verdict);

/// <summary>Measures CPU and load over a phase.</summary>
internal sealed class ResourceMeter
{
    private readonly ServerProcess? server;
    private readonly ThrowawayPostgres? cluster;
    private readonly double serverCpu0;
    private readonly double? dbCpu0;
    private readonly double benchCpu0;
    private readonly (long Busy, long Total) machine0;

    public ResourceMeter(ServerProcess? server, ThrowawayPostgres? cluster)
    {
        this.server = server;
        this.cluster = cluster;
        serverCpu0 = server?.CpuTime().TotalSeconds ?? 0;
        dbCpu0 = cluster?.CpuSeconds();
        benchCpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        machine0 = BenchEnv.MachineCpu();
    }

    public PhaseResources Stop()
    {
        var m = BenchEnv.MachineCpu();
        var total = m.Total - machine0.Total;
        return new PhaseResources(
            Math.Round((server?.CpuTime().TotalSeconds ?? 0) - serverCpu0, 3),
            cluster?.CpuSeconds() - dbCpu0 is { } d ? Math.Round(d, 3) : null,
            Math.Round(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - benchCpu0, 3),
            total > 0 ? Math.Round((double)(m.Busy - machine0.Busy) / total, 3) : 0,
            BenchEnv.LoadAverage());
    }
}

/// <summary>HTTP load: open loop (constant rate) and closed loop (C workers).</summary>
internal static class Load
{
    /// <summary>
    /// Open-loop pacing: waits until message <paramref name="next"/> is due (<c>next / rate</c> seconds after
    /// <paramref name="start"/>, a <see cref="Stopwatch"/> timestamp), in steps of at most 10 ms, yielding when it is due.
    /// </summary>
    internal static async Task PaceAsync(long start, long next, double rate, CancellationToken ct)
    {
        var wait = (next / rate) - Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (wait > 0.0005)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(wait, 0.01)), ct);
        }
        else
        {
            await Task.Yield();
        }
    }

    /// <summary>Sends one signed body; returns null on a 2xx, else an error kind.</summary>
    public static async Task<string?> SendAsync(HttpClient http, Uri url, SignedBody body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body.Body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("x-vapi-signature", body.Signature);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            return $"{e.HttpRequestError}";
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return "timeout";
        }
    }

    /// <summary>
    /// Fires request i at start + i/rate whatever happened to the earlier ones, and measures each latency from that
    /// scheduled time to the end of its response (so queueing in a slow server or in this client is counted).
    /// </summary>
    public static async Task<PhaseResult> OpenLoopAsync(HttpClient http, Uri url, SignedBody[] bodies, double rate, ServerProcess server, DbTarget db, CancellationToken ct)
    {
        var n = bodies.Length;
        var latencies = new double[n];
        var errors = new string?[n];
        var tasks = new Task[n];
        var meter = new ResourceMeter(server, db.Cluster);
        var start = Stopwatch.GetTimestamp();
        var next = 0;
        double maxLag = 0;
        while (next < n)
        {
            ct.ThrowIfCancellationRequested();
            var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var due = Math.Min(n, (int)Math.Floor(elapsed * rate) + 1);
            while (next < due)
            {
                var i = next++;
                var scheduled = start + (long)(i / rate * Stopwatch.Frequency);
                maxLag = Math.Max(maxLag, Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds);
                tasks[i] = Fire(i, scheduled);
            }
            if (next < n)
            {
                await Load.PaceAsync(start, next, rate, ct);
            }
        }
        await Task.WhenAll(tasks);
        var duration = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var resources = meter.Stop();
        return Summarize("open loop", 0, rate, duration, latencies, errors, maxLag, false, resources);

        async Task Fire(int i, long scheduled)
        {
            await Task.Yield(); // leave the scheduler loop at once
            errors[i] = await SendAsync(http, url, bodies[i], ct);
            latencies[i] = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
        }
    }

    /// <summary>C workers, each sending its next request as soon as the previous one completes, until the duration or the pool ends.</summary>
    public static async Task<PhaseResult> ClosedLoopAsync(HttpClient http, Uri url, int concurrency, TimeSpan duration, BodySource source, ServerProcess server, DbTarget db, CancellationToken ct)
    {
        var meter = new ResourceMeter(server, db.Cluster);
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var perWorker = new List<(double Ms, string? Error)>[concurrency];
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = perWorker[w] = new List<(double, string?)>(4096);
            while (Stopwatch.GetTimestamp() < deadline && source.Take() is { } body)
            {
                var t0 = Stopwatch.GetTimestamp();
                var error = await SendAsync(http, url, body, ct);
                mine.Add((Stopwatch.GetElapsedTime(t0).TotalMilliseconds, error));
            }
        }, ct)).ToArray();
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var resources = meter.Stop();
        var all = perWorker.SelectMany(x => x).ToArray();
        return Summarize($"closed loop, {concurrency} workers", concurrency, null, elapsed,
            all.Select(x => x.Ms).ToArray(), all.Select(x => x.Error).ToArray(), null, source.Exhausted, resources);
    }

    private static PhaseResult Summarize(string name, int concurrency, double? rate, double duration, double[] latencies, string?[] errors, double? maxLag, bool exhausted, PhaseResources resources)
    {
        var ok = errors.Count(e => e is null);
        var byKind = errors.Where(e => e is not null).GroupBy(e => e!).ToDictionary(g => g.Key, g => g.Count());
        // Latency of successful requests only; errors are counted apart (a fast 500 must not improve p99).
        var okLatencies = latencies.Where((_, i) => errors[i] is null);
        return new PhaseResult(name, concurrency, rate, Math.Round(duration, 3), latencies.Length, ok, latencies.Length - ok, byKind,
            Math.Round(ok / duration, 1), LatencySummary.Of(okLatencies), maxLag is { } l ? Math.Round(l, 2) : null, exhausted,
            ok > 0 ? Math.Round(resources.ServerCpuSeconds * 1000 / ok, 3) : 0,
            ok > 0 && resources.DatabaseCpuSeconds is { } d ? Math.Round(d * 1000 / ok, 3) : null,
            resources);
    }
}

/// <summary>A database under test: the server's and the raw phase's, each fresh.</summary>
internal sealed class DbTarget
{
    private readonly string? pgAdmin;
    private readonly string? serverDbName;
    private readonly string? rawDbName;

    private DbTarget(string provider, string server, string raw, string? pgAdmin, string? serverDbName, string? rawDbName)
    {
        Provider = provider;
        ServerConnectionString = server;
        RawConnectionString = raw;
        this.pgAdmin = pgAdmin;
        this.serverDbName = serverDbName;
        this.rawDbName = rawDbName;
    }

    public string Provider { get; }
    public bool IsPostgres => Provider == "postgres";
    public string ServerConnectionString { get; }
    public string RawConnectionString { get; }
    public ThrowawayPostgres? Cluster { get; private set; }

    public static DbTarget Create(string provider, string workDir, string? pgAdmin, string? pgOptions)
    {
        if (provider == "sqlite")
        {
            return new DbTarget(provider, $"Data Source={Path.Combine(workDir, "server.db")}", $"Data Source={Path.Combine(workDir, "raw.db")}", null, null, null);
        }
        var suffix = Guid.NewGuid().ToString("N")[..10];
        string Cs(string name)
        {
            var b = new NpgsqlConnectionStringBuilder(pgAdmin) { Database = name };
            if (!string.IsNullOrWhiteSpace(pgOptions))
            {
                foreach (var (k, v) in new NpgsqlConnectionStringBuilder(pgOptions))
                {
                    b[k] = v;
                }
            }
            return b.ConnectionString;
        }
        return new DbTarget(provider, Cs($"swb_bench_srv_{suffix}"), Cs($"swb_bench_raw_{suffix}"), pgAdmin, $"swb_bench_srv_{suffix}", $"swb_bench_raw_{suffix}");
    }

    public DbTarget WithCluster(ThrowawayPostgres? cluster)
    {
        Cluster = cluster;
        return this;
    }

    public string Describe() => IsPostgres
        ? $"PostgreSQL {new NpgsqlConnectionStringBuilder(pgAdmin).Host}:{new NpgsqlConnectionStringBuilder(pgAdmin).Port}" + (Cluster is null ? "" : $" (throwaway cluster {Cluster.Version}, {Cluster.SettingsText})")
        : $"SQLite file ({SqliteVersion()}, journal_mode from the server's migrations)";

    private static string SqliteVersion()
    {
        using var c = new SqliteConnection("Data Source=:memory:");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "select sqlite_version()";
        return "SQLite " + cmd.ExecuteScalar();
    }

    public async Task CreateAsync(CancellationToken ct)
    {
        if (!IsPostgres)
        {
            return;
        }
        await using var conn = new NpgsqlConnection(pgAdmin);
        await conn.OpenAsync(ct);
        foreach (var name in new[] { serverDbName, rawDbName })
        {
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    public async Task DropAsync(CancellationToken ct)
    {
        if (!IsPostgres)
        {
            return;
        }
        await using var conn = new NpgsqlConnection(pgAdmin);
        await conn.OpenAsync(ct);
        foreach (var name in new[] { serverDbName, rawDbName })
        {
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>Opens a connection the way the server does: the server's own SQLite connection-string preparation, or Npgsql as configured.</summary>
    public async Task<DbConnection> OpenAsync(string connectionString, CancellationToken ct)
    {
        DbConnection conn = IsPostgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(DatabaseExtensions.PrepareSqlite(connectionString));
        await conn.OpenAsync(ct);
        return conn;
    }

    public async Task<List<string>> TablesAsync(DbConnection conn, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = IsPostgres
            ? "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
        var tables = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            tables.Add(reader.GetString(0));
        }
        return tables;
    }

    public async Task<Dictionary<string, long>> CountRowsAsync(string connectionString, CancellationToken ct)
    {
        await using var conn = await OpenAsync(connectionString, ct);
        var counts = new Dictionary<string, long>();
        foreach (var table in await TablesAsync(conn, ct))
        {
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
            counts[table] = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
        }
        return counts;
    }
}

internal static class RowCounts
{
    public static Dictionary<string, double> Delta(Dictionary<string, long> before, Dictionary<string, long> after, int requests) =>
        after.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key))
            .ToDictionary(kv => kv.Key, kv => requests > 0 ? Math.Round((double)(kv.Value - before.GetValueOrDefault(kv.Key)) / requests, 3) : 0);

    public static string Describe(Dictionary<string, double> perRequest) =>
        string.Join(", ", perRequest.Select(kv => $"{kv.Key} {kv.Value:0.##}")) + $" = {perRequest.Values.Sum():0.##} rows";
}

/// <summary>
/// The rows one request wrote, read back from the server's database, ready to be inserted again with fresh ids:
/// every id of those rows (in the forms they appear: uppercase/lowercase UUID, 32-hex) and the provider call id and
/// idempotency key are replaced in every column, so unique indexes see new keys exactly as with new requests.
/// </summary>
internal sealed class RowTemplate
{
    private readonly List<TableRows> tables;
    private readonly List<Token> tokens;
    private readonly int idCount;
    private readonly Dictionary<string, object?> tenantRow;

    private RowTemplate(List<TableRows> tables, List<Token> tokens, int idCount, Dictionary<string, object?> tenantRow)
    {
        this.tables = tables;
        this.tokens = tokens;
        this.idCount = idCount;
        this.tenantRow = tenantRow;
    }

    public IReadOnlyList<TableRows> Tables => tables;
    public int RowCount => tables.Sum(t => t.Rows.Count);

    public string Describe() => string.Join(", ", tables.Select(t => $"{t.Table} {t.Rows.Count}")) + $" = {RowCount} rows";

    internal sealed record TableRows(string Table, IReadOnlyList<string> Columns, List<ValueTemplate[]> Rows);

    /// <summary>A column value: a constant, a replaced id (PostgreSQL uuid), or text with replaced spans.</summary>
    internal sealed record ValueTemplate(object? Constant, int IdSlot, IReadOnlyList<(string? Literal, int Token)>? Parts);

    /// <summary>A string to replace: id slot and format (D upper, D lower, N lower), or the provider call id (-1) or idempotency key (-2).</summary>
    private sealed record Token(string Text, int Slot, char Format);

    public static async Task<RowTemplate> ExtractAsync(DbTarget db, string providerCallId, CancellationToken ct, bool followDeliveries = false)
    {
        await using var conn = await db.OpenAsync(db.ServerConnectionString, ct);
        var tableNames = await db.TablesAsync(conn, ct);
        var calls = await SelectAsync(conn, "calls", "\"ProviderCallId\" = @p", providerCallId, ct);
        if (calls.Count != 1)
        {
            throw new InvalidOperationException($"Expected one call with ProviderCallId {providerCallId}, found {calls.Count}");
        }
        var callIdValue = calls[0]["Id"]!;
        var callId = callIdValue is Guid g ? g : Guid.Parse((string)callIdValue);

        var rows = new List<(string Table, Dictionary<string, object?> Row)> { ("calls", calls[0]) };
        foreach (var table in tableNames.Where(t => t != "calls"))
        {
            var columns = await ColumnsAsync(conn, db.IsPostgres, table, ct);
            if (columns.Contains("CallId"))
            {
                rows.AddRange((await SelectAsync(conn, table, "\"CallId\" = @p", callIdValue, ct)).Select(r => (table, r)));
            }
            else if (columns.Contains("DedupeKey"))
            {
                // The outbox has no call id; its dedupe key carries it.
                rows.AddRange((await SelectAsync(conn, table, "\"DedupeKey\" LIKE @p", "%" + callId.ToString("N") + "%", ct)).Select(r => (table, r)));
            }
        }

        if (followDeliveries)
        {
            // What the call's webhook events became (issue 13's "same rows"): each event's deliveries, their attempts, and the
            // outbox row that carried each delivery (its dedupe key is the delivery id). None of these names the call.
            var events = rows.Where(r => r.Table == "webhook_events").Select(r => r.Row["Id"]!).ToList();
            foreach (var eventId in events)
            {
                foreach (var delivery in await SelectAsync(conn, "webhook_deliveries", "\"EventId\" = @p", eventId, ct))
                {
                    rows.Add(("webhook_deliveries", delivery));
                    rows.AddRange((await SelectAsync(conn, "webhook_attempts", "\"DeliveryId\" = @p", delivery["Id"]!, ct)).Select(r => ("webhook_attempts", r)));
                    var deliveryId = delivery["Id"] is Guid d ? d : Guid.Parse((string)delivery["Id"]!);
                    rows.AddRange((await SelectAsync(conn, "outbox", "\"DedupeKey\" LIKE @p", deliveryId.ToString("N") + ":%", ct)).Select(r => ("outbox", r)));
                }
            }
        }

        var tenants = await SelectAsync(conn, "tenants", "\"Id\" = @p", calls[0]["TenantId"]!, ct);

        // Ids to renew: every row's own id (and the call's).
        var ids = new List<Guid>();
        foreach (var (_, row) in rows)
        {
            if (row.TryGetValue("Id", out var id) && id is not null)
            {
                var guid = id is Guid x ? x : Guid.Parse((string)id);
                if (!ids.Contains(guid))
                {
                    ids.Add(guid);
                }
            }
        }
        var tokens = new List<Token>();
        for (var i = 0; i < ids.Count; i++)
        {
            tokens.Add(new Token(ids[i].ToString("D").ToUpperInvariant(), i, 'U'));
            tokens.Add(new Token(ids[i].ToString("D"), i, 'D'));
            tokens.Add(new Token(ids[i].ToString("N"), i, 'N'));
        }
        tokens.Add(new Token(providerCallId, -1, 'P'));
        var eventKeys = rows.Where(r => r.Table == "call_events").Select(r => r.Row["IdempotencyKey"] as string)
            .Concat(rows.Where(r => r.Table == "webhook_events").Select(r => r.Row.GetValueOrDefault("MessageId") as string)) // unique per tenant too
            .OfType<string>().Distinct().ToList();
        for (var k = 0; k < eventKeys.Count; k++)
        {
            tokens.Add(new Token(eventKeys[k], -2 - k, 'K')); // one call's several messages (ingest mode): one distinct key each
        }

        // Generated columns (PostgreSQL's calls."SearchDocument") are computed by the database, never inserted.
        var generated = new HashSet<(string, string)>();
        if (db.IsPostgres)
        {
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND is_generated = 'ALWAYS'";
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                generated.Add((reader.GetString(0), reader.GetString(1)));
            }
        }
        var byTable = new List<TableRows>();
        foreach (var group in rows.GroupBy(r => r.Table))
        {
            var columns = group.First().Row.Keys.Where(c => !generated.Contains((group.Key, c))).ToList();
            var templates = group.Select(r => columns.Select(c => Compile(r.Row[c], ids, tokens)).ToArray()).ToList();
            byTable.Add(new TableRows(group.Key, columns, templates));
        }
        return new RowTemplate(byTable, tokens, ids.Count, tenants.Single());
    }

    private static ValueTemplate Compile(object? value, List<Guid> ids, List<Token> tokens)
    {
        switch (value)
        {
            case Guid g when ids.IndexOf(g) is var slot and >= 0:
                return new ValueTemplate(null, slot, null);
            case string s:
                var hits = new List<(int Pos, int Len, int Token)>();
                for (var t = 0; t < tokens.Count; t++)
                {
                    for (var at = s.IndexOf(tokens[t].Text, StringComparison.Ordinal); at >= 0; at = s.IndexOf(tokens[t].Text, at + 1, StringComparison.Ordinal))
                    {
                        hits.Add((at, tokens[t].Text.Length, t));
                    }
                }
                if (hits.Count == 0)
                {
                    return new ValueTemplate(s, -1, null);
                }
                var parts = new List<(string?, int)>();
                var pos = 0;
                foreach (var hit in hits.OrderBy(h => h.Pos))
                {
                    if (hit.Pos < pos)
                    {
                        continue; // overlapping match (a D-lower inside nothing else can overlap; defensive)
                    }
                    if (hit.Pos > pos)
                    {
                        parts.Add((s[pos..hit.Pos], -1));
                    }
                    parts.Add((null, hit.Token));
                    pos = hit.Pos + hit.Len;
                }
                if (pos < s.Length)
                {
                    parts.Add((s[pos..], -1));
                }
                return new ValueTemplate(null, -1, parts);
            default:
                return new ValueTemplate(value, -1, null);
        }
    }

    /// <summary>Fresh values for one request: new ids (UUIDv7, as the server makes them), provider call id and idempotency key.</summary>
    public Instance NewInstance()
    {
        var ids = new Guid[idCount];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = Guid.CreateVersion7();
        }
        return new Instance(ids, Guid.NewGuid().ToString(), Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()));
    }

    internal sealed record Instance(Guid[] Ids, string ProviderCallId, string EventKey);

    public object Value(ValueTemplate v, Instance instance)
    {
        if (v.IdSlot >= 0)
        {
            return instance.Ids[v.IdSlot];
        }
        if (v.Parts is null)
        {
            return v.Constant ?? DBNull.Value;
        }
        var sb = new StringBuilder();
        foreach (var (literal, token) in v.Parts)
        {
            if (literal is not null)
            {
                sb.Append(literal);
                continue;
            }
            var t = tokens[token];
            sb.Append(t.Format switch
            {
                'U' => instance.Ids[t.Slot].ToString("D").ToUpperInvariant(),
                'D' => instance.Ids[t.Slot].ToString("D"),
                'N' => instance.Ids[t.Slot].ToString("N"),
                'P' => instance.ProviderCallId,
                _ => instance.EventKey[..^4] + (-2 - t.Slot).ToString("x4", CultureInfo.InvariantCulture), // same length (varchar(64) on PostgreSQL)
            });
        }
        return sb.ToString();
    }

    /// <summary>Inserts the tenant the rows belong to into the raw database (foreign keys).</summary>
    public async Task CopyTenantAsync(DbTarget db, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(db.RawConnectionString, ct);
        await using var cmd = conn.CreateCommand();
        var columns = tenantRow.Keys.ToList();
        cmd.CommandText = $"INSERT INTO tenants ({string.Join(", ", columns.Select(c => $"\"{c}\""))}) VALUES ({string.Join(", ", columns.Select((_, i) => $"@p{i}"))})";
        for (var i = 0; i < columns.Count; i++)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = $"@p{i}";
            p.Value = tenantRow[columns[i]] ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<HashSet<string>> ColumnsAsync(DbConnection conn, bool pg, string table, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = pg
            ? $"SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'"
            : $"SELECT name FROM pragma_table_info('{table}')";
        var columns = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            columns.Add(reader.GetString(0));
        }
        return columns;
    }

    private static async Task<List<Dictionary<string, object?>>> SelectAsync(DbConnection conn, string table, string where, object value, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT * FROM \"{table}\" WHERE {where}";
        var p = cmd.CreateParameter();
        p.ParameterName = "@p";
        p.Value = value;
        cmd.Parameters.Add(p);
        var rows = new List<Dictionary<string, object?>>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }
            rows.Add(row);
        }
        return rows;
    }
}

/// <summary>
/// The raw insert rate: C connections, each inserting one request's rows per transaction through the bare driver
/// (SQLite: prepared commands reused per connection; PostgreSQL: one NpgsqlBatch per transaction, as EF Core sends).
/// </summary>
internal static class RawInsert
{
    /// <summary>
    /// Inserts copies of <paramref name="template"/> (one call's rows, fresh ids each time) from <paramref name="concurrency"/>
    /// connections for <paramref name="duration"/>. <paramref name="transactionsPerCall"/> = 1 writes a call's rows in one
    /// transaction (the issue's raw rate); more splits them, in the template's order, into that many transactions of as
    /// even a size as the rows allow, each committed before the next starts: the same rows written as a webhook receiver
    /// must, one durable commit per message before its answer. On PostgreSQL each such part is one batch without BEGIN and
    /// COMMIT (one implicit transaction, one round trip, as the server saves a message). <see cref="RawResult.Transactions"/>
    /// counts calls either way.
    /// </summary>
    public static async Task<RawResult> RunAsync(DbTarget db, RowTemplate template, int concurrency, TimeSpan duration, int maxTransactions, ThrowawayPostgres? cluster, CancellationToken ct,
        int transactionsPerCall = 1)
    {
        var connections = new DbConnection[concurrency];
        for (var i = 0; i < concurrency; i++)
        {
            connections[i] = await db.OpenAsync(db.RawConnectionString, ct);
        }
        var rowsPerTx = template.RowCount;
        var budget = maxTransactions;
        var errors = 0;
        var perWorker = new List<double>[concurrency];
        var meter = new ResourceMeter(null, cluster);
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        try
        {
            var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
            {
                var mine = perWorker[w] = new List<double>(8192);
                var conn = connections[w];
                var writer = db.IsPostgres ? (IRawWriter)new PgWriter((NpgsqlConnection)conn, template, transactionsPerCall) : new SqliteWriter((SqliteConnection)conn, template, transactionsPerCall);
                while (Stopwatch.GetTimestamp() < deadline && Interlocked.Decrement(ref budget) >= 0)
                {
                    var instance = template.NewInstance();
                    var t0 = Stopwatch.GetTimestamp();
                    try
                    {
                        await writer.WriteAsync(instance, ct);
                        mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    }
                    catch (DbException e)
                    {
                        if (Interlocked.Increment(ref errors) <= 3)
                        {
                            Console.Error.WriteLine($"raw insert failed: {e.Message}");
                        }
                    }
                }
            }, ct)).ToArray();
            await Task.WhenAll(workers);
        }
        finally
        {
            foreach (var c in connections)
            {
                await c.DisposeAsync();
            }
        }
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var resources = meter.Stop();
        var all = perWorker.SelectMany(x => x).ToArray();
        return new RawResult(concurrency, Math.Round(elapsed, 3), all.Length, all.Length * rowsPerTx, errors,
            Math.Round(all.Length / elapsed, 1), Math.Round(all.Length * rowsPerTx / elapsed, 1), LatencySummary.Of(all),
            all.Length > 0 && resources.DatabaseCpuSeconds is { } d ? Math.Round(d * 1000 / all.Length, 3) : null, resources);
    }

    private interface IRawWriter
    {
        Task WriteAsync(RowTemplate.Instance instance, CancellationToken ct);
    }

    /// <summary>
    /// The template's rows as (table index, row), in the template's order, cut into <paramref name="parts"/> runs whose sizes
    /// differ by at most one (fewer when there are fewer rows).
    /// </summary>
    private static List<List<(int Table, RowTemplate.ValueTemplate[] Row)>> Parts(RowTemplate template, int parts)
    {
        var rows = template.Tables.SelectMany((t, i) => t.Rows.Select(r => (i, r))).ToList();
        parts = Math.Clamp(parts, 1, Math.Max(1, rows.Count));
        var result = new List<List<(int, RowTemplate.ValueTemplate[])>>(parts);
        for (int p = 0, at = 0; p < parts; p++)
        {
            var size = rows.Count / parts + (p < rows.Count % parts ? 1 : 0);
            result.Add(rows.GetRange(at, size));
            at += size;
        }
        return result;
    }

    private static string InsertSql(RowTemplate.TableRows t, Func<int, string> param) =>
        $"INSERT INTO \"{t.Table}\" ({string.Join(", ", t.Columns.Select(c => $"\"{c}\""))}) VALUES ({string.Join(", ", t.Columns.Select((_, i) => param(i)))})";

    private sealed class SqliteWriter : IRawWriter
    {
        private readonly SqliteConnection conn;
        private readonly RowTemplate template;
        private readonly SqliteCommand[] commands;
        private readonly List<List<(int Table, RowTemplate.ValueTemplate[] Row)>> parts;

        public SqliteWriter(SqliteConnection conn, RowTemplate template, int transactionsPerCall)
        {
            this.conn = conn;
            this.template = template;
            parts = Parts(template, transactionsPerCall);
            commands = template.Tables.Select(t =>
            {
                var cmd = conn.CreateCommand();
                cmd.CommandText = InsertSql(t, i => $"@p{i}");
                for (var i = 0; i < t.Columns.Count; i++)
                {
                    cmd.Parameters.Add(new SqliteParameter($"@p{i}", DBNull.Value));
                }
                return cmd;
            }).ToArray();
        }

        public async Task WriteAsync(RowTemplate.Instance instance, CancellationToken ct)
        {
            foreach (var part in parts)
            {
                // BeginTransaction() as EF Core's: Serializable, not deferred (BEGIN IMMEDIATE).
                await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(ct);
                foreach (var (t, row) in part)
                {
                    var cmd = commands[t];
                    cmd.Transaction = tx;
                    for (var i = 0; i < row.Length; i++)
                    {
                        // Guids as SQLite text, as EF Core stores them (uppercase).
                        var v = template.Value(row[i], instance);
                        cmd.Parameters[i].Value = v is Guid g ? g.ToString("D").ToUpperInvariant() : v;
                    }
                    await cmd.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
            }
        }
    }

    private sealed class PgWriter(NpgsqlConnection conn, RowTemplate template, int transactionsPerCall) : IRawWriter
    {
        private readonly string[] sql = template.Tables.Select(t => InsertSql(t, i => $"${i + 1}")).ToArray();
        private readonly List<List<(int Table, RowTemplate.ValueTemplate[] Row)>> parts = Parts(template, transactionsPerCall);

        public async Task WriteAsync(RowTemplate.Instance instance, CancellationToken ct)
        {
            if (parts.Count > 1)
            {
                foreach (var part in parts)
                {
                    // One batch outside a transaction: PostgreSQL runs it as one implicit transaction (one round trip).
                    await using var each = new NpgsqlBatch(conn);
                    foreach (var (t, row) in part)
                    {
                        var cmd = new NpgsqlBatchCommand(sql[t]);
                        foreach (var v in row)
                        {
                            cmd.Parameters.Add(new NpgsqlParameter { Value = template.Value(v, instance) });
                        }
                        each.BatchCommands.Add(cmd);
                    }
                    await each.ExecuteNonQueryAsync(ct);
                }
                return;
            }
            await using var tx = await conn.BeginTransactionAsync(ct);
            await using var batch = new NpgsqlBatch(conn, tx);
            for (var t = 0; t < sql.Length; t++)
            {
                foreach (var row in template.Tables[t].Rows)
                {
                    var cmd = new NpgsqlBatchCommand(sql[t]);
                    foreach (var v in row)
                    {
                        cmd.Parameters.Add(new NpgsqlParameter { Value = template.Value(v, instance) });
                    }
                    batch.BatchCommands.Add(cmd);
                }
            }
            await batch.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
        }
    }
}

/// <summary>The server, run as a child process (always killed at the end), with its output kept in a log file.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private static readonly HashSet<Process> Running = [];
    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Queue<string> tail = new();
    private double peakWorkingSetMb;

    static ServerProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Running)
            {
                foreach (var p in Running)
                {
                    try
                    {
                        p.Kill(entireProcessTree: true);
                    }
                    catch (InvalidOperationException)
                    {
                    }
                }
            }
        };
    }

    private ServerProcess(Process process, string logPath)
    {
        this.process = process;
        LogPath = logPath;
        log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string LogPath { get; }
    public int Pid => process.Id;

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (tail)
        {
            log.WriteLine(line);
            tail.Enqueue(line);
            while (tail.Count > 40)
            {
                tail.Dequeue();
            }
        }
    }

    public string LogTail()
    {
        lock (tail)
        {
            return string.Join('\n', tail);
        }
    }

    public TimeSpan CpuTime()
    {
        process.Refresh();
        peakWorkingSetMb = Math.Max(peakWorkingSetMb, process.WorkingSet64 / 1048576.0);
        return process.TotalProcessorTime;
    }

    public double PeakWorkingSetMb()
    {
        process.Refresh();
        return Math.Round(Math.Max(peakWorkingSetMb, process.PeakWorkingSet64 / 1048576.0), 1);
    }

    private static ProcessStartInfo StartInfo(string dll, string workDir, IDictionary<string, string> env, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // The server reads only what we give it: drop inherited Switchboard/ASP.NET settings.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("Switchboard__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }
        return psi;
    }

    public static async Task<ServerProcess> StartAsync(string dll, string workDir, IDictionary<string, string> env, Uri readyz, TimeSpan timeout, CancellationToken ct)
    {
        var process = Process.Start(StartInfo(dll, workDir, env, [])) ?? throw new InvalidOperationException("Could not start the server");
        lock (Running)
        {
            Running.Add(process);
        }
        var server = new ServerProcess(process, Path.Combine(workDir, "server.log"));
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"The server exited with code {process.ExitCode}:\n{server.LogTail()}");
                }
                try
                {
                    using var response = await http.GetAsync(readyz, ct);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return server;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException) when (!ct.IsCancellationRequested)
                {
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"The server was not ready within {timeout.TotalSeconds} s:\n{server.LogTail()}");
                }
                await Task.Delay(200, ct);
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a CLI command of the same binary (e.g. <c>migrate</c>); returns its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunCommandAsync(string dll, string workDir, IDictionary<string, string> env, string[] args, TimeSpan timeout, CancellationToken ct)
    {
        using var process = Process.Start(StartInfo(dll, workDir, env, args)) ?? throw new InvalidOperationException("Could not start the command");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SigTerm(int pid, int signal = 15);

    public async ValueTask DisposeAsync()
    {
        try
        {
            // SIGTERM first (the host's graceful stop, which also lets a runtime trace the server was started with, e.g.
            // DOTNET_EnableEventPipe, be written out whole), then kill whatever is left after 10 s.
            if (!process.HasExited && OperatingSystem.IsLinux() && SigTerm(process.Id) == 0)
            {
                using var graceful = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await process.WaitForExitAsync(graceful.Token);
                }
                catch (OperationCanceledException)
                {
                    // still running: killed below
                }
            }
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"server {process.Id}: {e.Message}");
        }
        lock (Running)
        {
            Running.Remove(process);
        }
        lock (tail)
        {
            log.Dispose();
        }
        process.Dispose();
    }
}

/// <summary>A PostgreSQL cluster in a temporary folder (initdb + pg_ctl on a free port, as ./test.sh does), removed at the end.</summary>
internal sealed class ThrowawayPostgres : IAsyncDisposable
{
    private readonly string bin;
    private readonly string dir;
    private readonly string? user;

    private ThrowawayPostgres(string bin, string dir, string? user, int port, string version, string settings)
    {
        this.bin = bin;
        this.dir = dir;
        this.user = user;
        Version = version;
        SettingsText = settings;
        AdminConnectionString = $"Host=127.0.0.1;Port={port};Username=switchboard;Database=postgres";
    }

    public string AdminConnectionString { get; }
    public string Version { get; }
    public string SettingsText { get; }

    public static async Task<ThrowawayPostgres> StartAsync(IReadOnlyList<string> settings, CancellationToken ct)
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb")))
                .OrderBy(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0).LastOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("No PostgreSQL found under /usr/lib/postgresql: install it (apt-get install postgresql) or pass --pg.");
        }
        var dir = Directory.CreateTempSubdirectory("switchboard-bench-pg-").FullName;
        string? user = null;
        if (Environment.IsPrivilegedProcess)
        {
            user = "postgres";
            if ((await Run("id", ["postgres"], null, ct)).Code != 0)
            {
                await Run("useradd", ["--system", "--no-create-home", "postgres"], null, ct);
            }
            await Run("chown", ["postgres", dir], null, ct);
        }
        var port = BenchEnv.FreePort();
        var init = await Run(Path.Combine(bin, "initdb"), ["-D", Path.Combine(dir, "data"), "-U", "switchboard", "--auth=trust", "-E", "UTF8"], user, ct);
        if (init.Code != 0)
        {
            throw new InvalidOperationException("initdb failed: " + init.Output);
        }
        var options = $"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=300" + string.Concat(settings.Select(s => $" -c {s}"));
        var start = await Run(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(dir, "data"), "-l", Path.Combine(dir, "server.log"), "-w", "-t", "60", "-o", options, "start"], user, ct);
        var pg = new ThrowawayPostgres(bin, dir, user, port, Path.GetFileName(Path.GetDirectoryName(bin)!), settings.Count == 0 ? "default settings (fsync on)" : string.Join(' ', settings));
        if (start.Code != 0)
        {
            await pg.DisposeAsync();
            throw new InvalidOperationException("pg_ctl start failed: " + start.Output);
        }
        Console.WriteLine($"PostgreSQL {pg.Version} throwaway cluster on 127.0.0.1:{port} ({pg.SettingsText})");
        return pg;
    }

    /// <summary>CPU seconds of the postmaster and all its children (the backends), including exited ones.</summary>
    public double? CpuSeconds()
    {
        try
        {
            var pidFile = Path.Combine(dir, "data", "postmaster.pid");
            var root = int.Parse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture);
            return BenchEnv.ProcessTreeCpuSeconds(root);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static async Task<(int Code, string Output)> Run(string file, string[] args, string? asUser, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(asUser is null ? file : "runuser") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asUser is not null)
        {
            foreach (var a in new[] { "-u", asUser, "--", file })
            {
                psi.ArgumentList.Add(a);
            }
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(limit.Token);
        return (p.ExitCode, (await stdout) + (await stderr));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Run(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(dir, "data"), "-m", "immediate", "stop"], user, CancellationToken.None);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"pg_ctl stop: {e.Message}");
        }
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"cleanup: {e.Message}");
        }
    }
}

/// <summary><c>data/demo-credentials.json</c>, written by the server's demo seeder.</summary>
internal static class DemoCredentialsFile
{
    public sealed record Credentials(Guid TenantId, string Secret);

    public static async Task<Credentials> ReadAsync(string path, CancellationToken ct)
    {
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(path, ct));
        return new Credentials(doc.RootElement.GetProperty("TenantId").GetGuid(),
            doc.RootElement.GetProperty("VapiWebhookSecret").GetString() ?? throw new InvalidOperationException("No VapiWebhookSecret in " + path));
    }
}

internal static class BenchEnv
{
    public static string RepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException("Cannot find the repository root (Switchboard.slnx)");
    }

    /// <summary>
    /// A path as a committed result may record it: relative to the repository (<c>src/Switchboard/bin/…</c>) when inside it,
    /// else <c>&lt;dir&gt;/</c> and its last two parts (<c>&lt;dir&gt;/out/Switchboard.dll</c>), so that results name the build
    /// they measured without this machine's folders (CONVENTIONS: no machine paths in the repository).
    /// </summary>
    public static string Portable(string path)
    {
        var full = Path.GetFullPath(path);
        var repo = RepoRoot();
        if (full.StartsWith(repo + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return Path.GetRelativePath(repo, full);
        }
        var parts = full.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        return "<dir>/" + string.Join('/', parts.TakeLast(2));
    }

    /// <summary>
    /// <c>&lt;dir&gt;/&lt;stem&gt;.json</c>, or <c>&lt;stem&gt;-2.json</c>, <c>-3</c>… when that file exists: a second run with the same
    /// date and label keeps the first run's results instead of overwriting them.
    /// </summary>
    public static string ResultPath(string dir, string stem)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, stem + ".json");
        for (var n = 2; File.Exists(path); n++)
        {
            path = Path.Combine(dir, $"{stem}-{n}.json");
        }
        return path;
    }

    public static string FindServerDll(string repo)
    {
        var candidates = new[]
        {
            Path.Combine(repo, "src", "Switchboard", "bin", "Release", "net10.0", "Switchboard.dll"),
            Path.Combine(repo, ".build", "switchboard", "Switchboard.dll"),
        };
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("No server build found: run `dotnet build -c Release` (or ./switchboard once), or pass --server PATH.");
    }

    public static HttpClient NewHttpClient(int maxConnections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = maxConnections,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    public static long TotalMemoryMb() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1048576;

    /// <summary>Busy and total jiffies of the whole machine (/proc/stat).</summary>
    public static (long Busy, long Total) MachineCpu()
    {
        try
        {
            var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            var total = f.Take(8).Sum();
            var idle = f[3] + f[4];
            return (total - idle, total);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return (0, 0);
        }
    }

    /// <summary>CPU seconds (user + system, plus reaped children) of a process and its live descendants, from /proc.</summary>
    public static double ProcessTreeCpuSeconds(int root)
    {
        var stats = new Dictionary<int, (int Parent, long Ticks)>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out var pid))
            {
                continue;
            }
            try
            {
                var text = File.ReadAllText(Path.Combine(d, "stat"));
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                // fields[0] = state (field 3); ppid = field 4; utime 14, stime 15, cutime 16, cstime 17.
                var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
                    + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
                stats[pid] = (ppid, ticks);
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or ArgumentOutOfRangeException)
            {
            }
        }
        long sum = 0;
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
        {
            var pid = queue.Dequeue();
            if (stats.TryGetValue(pid, out var s))
            {
                sum += s.Ticks;
            }
            foreach (var child in stats.Where(kv => kv.Value.Parent == pid).Select(kv => kv.Key))
            {
                queue.Enqueue(child);
            }
        }
        return sum / 100.0; // USER_HZ
    }

    public static string GitCommit(string repo)
    {
        try
        {
            var psi = new ProcessStartInfo("git") { WorkingDirectory = repo, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "describe", "--always", "--dirty", "--abbrev=10" })
            {
                psi.ArgumentList.Add(a);
            }
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit(5000);
            return output;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}

/// <summary>Console table and JSON options.</summary>
internal static class Report
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Kinds(Dictionary<string, int> kinds) => kinds.Count == 0 ? "" : "(" + string.Join(", ", kinds.Select(kv => $"{kv.Key}: {kv.Value}")) + ")";

    public static void Print(VapiBenchResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine($"Switchboard Vapi end-of-call-report bench: {r.Provider} — {r.Database}");
        Console.WriteLine($"  commit {r.Commit}, {r.Machine.Cores} cores, load {r.Machine.LoadAverageAtStart} at start → {r.Machine.LoadAverageAtEnd} at end, {r.StartedAt:yyyy-MM-dd HH:mm}Z");
        Console.WriteLine($"  one request ({r.BodyBytes} B body) writes: {RowCounts.Describe(r.RowsPerRequest)}");
        Console.WriteLine();
        Console.WriteLine(string.Format(inv, "  {0,-30} {1,9} {2,7} {3,5} {4,8} {5,8} {6,8} {7,8} {8,9} {9,9} {10,6}",
            "phase", "req/s", "ok", "err", "p50 ms", "p90 ms", "p99 ms", "max ms", "srv cpu", "db cpu", "busy"));
        foreach (var p in r.Sweep.Prepend(r.OpenLoop).Append(r.ClosedLoop))
        {
            var name = p.TargetRate is { } rate ? $"open loop @{rate:0}/s, {p.Sent} req" : $"closed loop, {p.Concurrency} workers";
            Console.WriteLine(string.Format(inv, "  {0,-30} {1,9:F0} {2,7} {3,5} {4,8:F2} {5,8:F2} {6,8:F2} {7,8:F1} {8,7:F2}ms {9,7}ms {10,5:P0}",
                name, p.RequestsPerSecond, p.Ok, p.Errors, p.LatencyMs.P50, p.LatencyMs.P90, p.LatencyMs.P99, p.LatencyMs.Max,
                p.ServerCpuMsPerRequest, p.DatabaseCpuMsPerRequest?.ToString("F2", inv) ?? "-", p.Resources.MachineCpuBusy));
        }
        foreach (var raw in new[] { r.Raw, r.RawSerial }.OfType<RawResult>())
        {
            Console.WriteLine(string.Format(inv, "  {0,-30} {1,9:F0} {2,7} {3,5} {4,8:F2} {5,8:F2} {6,8:F2} {7,8:F1} {8,9} {9,7}ms {10,5:P0}",
                $"raw insert, {raw.Concurrency} conn (tx/s)", raw.TransactionsPerSecond, raw.Transactions, raw.Errors, raw.LatencyMs.P50, raw.LatencyMs.P90,
                raw.LatencyMs.P99, raw.LatencyMs.Max, "-", raw.DatabaseCpuMsPerTransaction?.ToString("F2", inv) ?? "-", raw.Resources.MachineCpuBusy));
            Console.WriteLine(string.Format(inv, "  {0,-30} {1,9:F0}", "  = rows/s", raw.RowsPerSecond));
        }
        if (r.OpenLoop.ErrorsByKind.Count + r.ClosedLoop.ErrorsByKind.Count > 0)
        {
            Console.WriteLine($"  errors: open {Kinds(r.OpenLoop.ErrorsByKind)} closed {Kinds(r.ClosedLoop.ErrorsByKind)}");
        }
        Console.WriteLine($"  open loop: max send lag {r.OpenLoop.MaxSendLagMs} ms (client scheduling delay, included in latency)");
        Console.WriteLine();
        var v = r.Verdict;
        Console.WriteLine(string.Format(inv, "  target {0}: p99 {1:F2} ms at {2:F0} req/s → {3}", v.P99Target, v.OpenLoopP99Ms, v.OpenLoopAchievedRate, v.P99Passed ? "PASS" : "FAIL"));
        if (r.Sweep.Count > 0)
        {
            Console.WriteLine($"  highest open-loop rate tried with p99 <= {VapiBench.TargetP99Ms} ms and no error: {(v.HighestOpenLoopRateMeetingP99 is { } h ? h.ToString("0", inv) + " req/s" : "none")}");
        }
        Console.WriteLine(string.Format(inv, "  target {0}: {1:F0} / {2:F0} = {3:F2} (vs raw at the same concurrency: {4:F2}) → {5}",
            v.RatioTarget, r.ClosedLoop.RequestsPerSecond, Math.Max(r.Raw.TransactionsPerSecond, r.RawSerial?.TransactionsPerSecond ?? 0),
            v.RatioToBestRaw, v.RatioToRaw, v.RatioPassed ? "PASS" : "FAIL"));
    }
}
