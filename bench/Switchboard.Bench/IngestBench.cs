using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;
using Switchboard.Vapi;

namespace Switchboard.Bench;

/// <summary>
/// <c>ingest</c> mode (issue 13): the message mix of real Vapi calls, open loop at fixed message rates, with the outbox
/// delivering SMS alerts (simulated: the demo tenant has no Twilio account sid) and tenant webhooks (a local receiver in
/// this process, registered through the API) during the run. Each simulated call sends, in order, with a fresh call id
/// and signature: assistant-request, status-update (in-progress), speech-update ×4, transcript partial + final ×2,
/// conversation-update ×2, tool-calls (capture_lead; an emergency in one call of five, so an SMS alert flows at once),
/// status-update (ended), end-of-call-report (the July 2024 fixture): 15 messages. About 40 calls are live at once.
/// Latency is measured from each message's scheduled send time, per kind, request/response apart from fire-and-forget;
/// the first 10 s after the server reports ready are reported apart (the first rate runs at once after start-up).
/// Then: a closed loop at each of the given worker counts (each worker sending whole calls; the best is the closed-loop
/// maximum the ratio to raw uses), CPU per message kind (each kind alone), and, with the server
/// stopped, the raw insert rate of one whole call's rows through the same driver (<see cref="RawInsert"/>).
/// Writes <c>bench/results/ingest-&lt;provider&gt;-&lt;date&gt;[-label].json</c>.
/// </summary>
internal static class IngestBench
{
    private const int LiveCalls = 40;

    private static readonly HashSet<string> RequestResponse = new(StringComparer.Ordinal)
    {
        "assistant-request", "tool-calls", "function-call", "knowledge-base-request", "transfer-destination-request",
    };

    public static async Task<int> RunAsync(string[] args)
    {
        var providers = new List<string> { "sqlite", "postgres" };
        var rates = new List<double> { 100, 300, 500 };
        double seconds = 30, closedSeconds = 20, rawSeconds = 10;
        int concurrency = 16, perKind = 300;
        // The closed-loop maximum is searched over worker counts: 16 workers left the server idle a third of the time on a
        // 2-core host (each waits for its message's group commit and fsync), so one count would report the latency, not the maximum.
        var closedConcurrency = new List<int> { 16, 32, 64 };
        string? label = null, serverDll = null;
        var save = true;
        var serverEnv = new Dictionary<string, string>(StringComparer.Ordinal);
        var pgSettings = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--db": providers = Next().Split(',').ToList(); break;
                case "--rates": rates = Next().Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToList(); break;
                case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--closed-seconds": closedSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--raw-seconds": rawSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--concurrency": concurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--closed-concurrency": closedConcurrency = Next().Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList(); break;
                case "--per-kind": perKind = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--label": label = Next(); break;
                case "--server": serverDll = Next(); break;
                case "--no-save": save = false; break;
                // A setting of the throwaway PostgreSQL cluster (repeatable), e.g. shared_preload_libraries=pg_stat_statements:
                // with that module loaded, the statements the server ran in the closed loops are printed, most time first.
                case "--pg-setting": pgSettings.Add(Next()); break;
                case "--server-env":
                    // An A/B switch without a rebuild, e.g. --server-env Switchboard__Outbox__WorkerEnabled=false (repeatable);
                    // {connection} stands for the server's connection string, e.g.
                    // --server-env "Switchboard__Database__ConnectionString={connection};Maximum Pool Size=16".
                    var pair = Next().Split('=', 2);
                    serverEnv[pair[0]] = pair.Length == 2 ? pair[1] : "";
                    break;
                default:
                    Console.Error.WriteLine("ingest [--db sqlite,postgres] [--rates 100,300,500] [--seconds 30] [--closed-seconds 20] " +
                                            "[--raw-seconds 10] [--concurrency 16 (raw connections)] [--closed-concurrency 16,32,64] [--per-kind 300 (0: skip)] [--label L] [--server DLL] [--server-env K=V]… [--pg-setting K=V]… [--no-save]");
                    return args[i] is "--help" or "-h" ? 0 : 2;
            }
        }

        var repo = BenchEnv.RepoRoot();
        serverDll ??= BenchEnv.FindServerDll(repo);
        var fixtureDir = Path.Combine(Path.GetDirectoryName(repo)!, "shared", "fixtures", "vapi");
        var eocr = await File.ReadAllTextAsync(Path.Combine(fixtureDir, "end-of-call-report.2024-07.json"));
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        ThrowawayPostgres? cluster = null;
        try
        {
            foreach (var provider in providers)
            {
                string? pgAdmin = null;
                if (provider == "postgres")
                {
                    cluster ??= await ThrowawayPostgres.StartAsync(pgSettings, cts.Token);
                    pgAdmin = cluster.AdminConnectionString;
                }
                var result = await RunProviderAsync(provider, serverDll, eocr, pgAdmin, cluster, rates, seconds, closedSeconds, rawSeconds, concurrency, closedConcurrency, perKind, serverEnv, cts.Token);
                result["commit"] = BenchEnv.GitCommit(repo);
                if (save)
                {
                    var file = BenchEnv.ResultPath(Path.Combine(repo, "bench", "results"), $"ingest-{provider}-{DateTime.UtcNow:yyyy-MM-dd}{(label is null ? "" : "-" + label)}");
                    await File.WriteAllTextAsync(file, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                    Console.WriteLine($"written: {file}");
                }
            }
            return 0;
        }
        finally
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
        }
    }

    private static async Task<JsonObject> RunProviderAsync(string provider, string serverDll, string eocr, string? pgAdmin, ThrowawayPostgres? cluster,
        List<double> rates, double seconds, double closedSeconds, double rawSeconds, int concurrency, List<int> closedConcurrency, int perKind,
        IReadOnlyDictionary<string, string> serverEnv, CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory("switchboard-bench-ingest-");
        var serverDir = Directory.CreateDirectory(Path.Combine(work.FullName, "server")).FullName;
        var rawDir = Directory.CreateDirectory(Path.Combine(work.FullName, "raw")).FullName;
        var appsettings = Path.Combine(Path.GetDirectoryName(serverDll)!, "appsettings.json");
        if (File.Exists(appsettings))
        {
            File.Copy(appsettings, Path.Combine(serverDir, "appsettings.json"));
        }
        var db = DbTarget.Create(provider, work.FullName, pgAdmin, null).WithCluster(provider == "postgres" ? cluster : null);
        var result = new JsonObject
        {
            ["benchmark"] = "ingest: realistic Vapi message mix, open loop, outbox delivering",
            ["provider"] = provider,
            ["database"] = db.Describe(),
            ["cores"] = Environment.ProcessorCount,
            ["loadAverageAtStart"] = BenchEnv.LoadAverage(),
            ["messagesPerCall"] = CallScript.Steps.Length,
        };
        Console.WriteLine($"\n=== ingest {provider}: {db.Describe()}; load {BenchEnv.LoadAverage()} ===");
        ServerProcess? server = null;
        using var receiver = new WebhookReceiver();
        try
        {
            await db.CreateAsync(ct);
            var baseUrl = $"http://127.0.0.1:{BenchEnv.FreePort()}";
            var scrapeToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            var env = new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = baseUrl,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Switchboard__Database__Provider"] = provider,
                ["Switchboard__Database__ConnectionString"] = db.ServerConnectionString,
                ["Switchboard__Vapi__RateLimitPerMinute"] = "1000000", // the validated maximum (16 667 msg/s)
                ["Switchboard__Demo__SeedOnEmptyDatabase"] = "true",
                ["Switchboard__Webhooks__AllowPrivateNetworks"] = "true", // the receiver is on 127.0.0.1
                ["Switchboard__Webhooks__AllowInsecureUrls"] = "true",
                ["Switchboard__Billing__Plans__pro__ConcurrentCalls"] = "1000000", // ~40 live calls on the one demo tenant (pro: 5)
                // The deliveries of a platform's many tenants, here all for the demo tenant's one endpoint: its bound (4 requests in
                // flight, which keeps one business's receiver from being flooded) would cap the whole outbox at what one receiver takes.
                ["Switchboard__Webhooks__MaxConcurrencyPerEndpoint"] = "64",
                ["Logging__LogLevel__Default"] = "Warning",
                ["DOTNET_GCgen0size"] = "0x4000000", // the gen0 budget ./switchboard runs the server with (--server-env DOTNET_GCgen0size=0: the runtime's own)
                ["Switchboard__Observability__ScrapeToken"] = scrapeToken, // GET /metrics: where the server says each phase's time went
            };
            foreach (var (k, v) in serverEnv)
            {
                env[k] = v.Replace("{connection}", db.ServerConnectionString, StringComparison.Ordinal);
            }
            if (serverEnv.Count > 0)
            {
                result["serverEnv"] = JsonSerializer.SerializeToNode(serverEnv);
            }
            var startClock = Stopwatch.StartNew();
            server = await ServerProcess.StartAsync(serverDll, serverDir, env, new Uri(baseUrl + "/readyz"), TimeSpan.FromSeconds(180), ct);
            result["startToReadySeconds"] = Math.Round(startClock.Elapsed.TotalSeconds, 2);
            Console.WriteLine($"server ready in {startClock.Elapsed.TotalSeconds:F1} s, pid {server.Pid}");
            using var creds = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(serverDir, "data", "demo-credentials.json"), ct));
            var tenantId = creds.RootElement.GetProperty("TenantId").GetGuid();
            var secret = creds.RootElement.GetProperty("VapiWebhookSecret").GetString()!;
            var apiKey = creds.RootElement.GetProperty("ApiKey").GetString()!;
            var url = new Uri($"{baseUrl}/webhooks/vapi/{tenantId}");
            using var http = BenchEnv.NewHttpClient(2048);
            http.Timeout = TimeSpan.FromSeconds(60);
            var serverPhases = new ServerPhases(http, new Uri(baseUrl + "/metrics"), scrapeToken);

            // The first rate starts at once (the first 10 s after /readyz are the cold-start figure); the webhook endpoint is
            // registered in the same instant, so its deliveries join the outbox from the first calls on.
            result["webhookEndpoint"] = await RegisterEndpointAsync(http, baseUrl, apiKey, receiver.Url, ct);
            var script = new CallScript(eocr, secret);
            var phases = new JsonArray();
            foreach (var rate in rates)
            {
                var phase = await OpenLoopAsync(http, url, script, rate, seconds, server, db, serverPhases, ct);
                phase["webhooksReceivedSoFar"] = receiver.Received;
                phases.Add(phase);
            }
            result["openLoop"] = phases;
            result["outboxAfterOpenLoops"] = await OutboxCountsAsync(db, ct);

            var statements = db.IsPostgres && await PgStatements.TryResetAsync(db, ct);
            var closedLoops = new JsonArray();
            JsonObject? best = null;
            foreach (var workers in closedConcurrency)
            {
                var loop = await ClosedLoopAsync(http, url, script, workers, closedSeconds, server, db, serverPhases, ct);
                closedLoops.Add(loop);
                if (best is null || loop["messagesPerSecond"]!.GetValue<double>() > best["messagesPerSecond"]!.GetValue<double>())
                {
                    best = loop;
                }
            }
            if (statements)
            {
                result["statements"] = await PgStatements.TopAsync(db, 15, ct);
                result["statementsByCalls"] = await PgStatements.TopAsync(db, 15, ct, byCalls: true);
                var messages = closedLoops.Sum(l => l!["messages"]!.GetValue<int>());
                var total = await PgStatements.TotalCallsAsync(db, ct);
                result["statementsPerMessage"] = Math.Round((double)total / Math.Max(1, messages), 2);
                Console.WriteLine($"  {total} statements in the closed loops, {result["statementsPerMessage"]} per message ({messages} messages; the outbox's included)");
                var planning = await PgStatements.PlanningAsync(db, ct);
                result["planning"] = planning;
                result["buffersPerMessage"] = Math.Round(planning["buffers"]!.GetValue<long>() / (double)Math.Max(1, messages), 1);
                result["walBytesPerMessage"] = Math.Round(planning["walBytes"]!.GetValue<long>() / (double)Math.Max(1, messages));
                Console.WriteLine($"  per message: {result["buffersPerMessage"]} buffers touched, {result["walBytesPerMessage"]} WAL bytes");
            }
            result["closedLoops"] = closedLoops;
            result["closedLoop"] = best!.DeepClone(); // the maximum
            Console.WriteLine($"closed-loop maximum: {best["messagesPerSecond"]} msg/s at {best["concurrency"]} workers");
            if (perKind > 0)
            {
                result["cpuPerKind"] = await CpuPerKindAsync(http, url, script, perKind, server, db, ct);
            }

            // One whole call, sequentially, for the raw template (rows of every table that names the call).
            var before = await db.CountRowsAsync(db.ServerConnectionString, ct);
            var probe = script.Build(int.MaxValue);
            foreach (var m in probe.Messages)
            {
                if (await SendAsync(http, url, m, ct) is { } error)
                {
                    throw new InvalidOperationException($"probe call failed at {m.Kind}: {error}");
                }
            }
            // Its webhooks and SMS delivered first, so the rows they leave (attempts, completed outbox rows) are there to copy.
            await WaitForOutboxAsync(db, OutboxDrainLimit, ct);
            var after = await db.CountRowsAsync(db.ServerConnectionString, ct);
            var perCall = RowCounts.Delta(before, after, 1);
            Console.WriteLine($"one call writes: {RowCounts.Describe(perCall)}");
            result["rowsPerCall"] = JsonSerializer.SerializeToNode(perCall);
            // The same rows (issue 13): every row the call left, its webhook deliveries, their attempts and outbox rows included.
            // Stops 40 – 66 copied only the rows that name the call (table with a CallId, or the outbox row whose dedupe key has
            // it): 40 of them, without the 18 the six webhook deliveries leave. That narrower template is still measured, for
            // comparison with those stops' ratios.
            var template = await RowTemplate.ExtractAsync(db, probe.CallId, ct, followDeliveries: true);
            var callRowsTemplate = await RowTemplate.ExtractAsync(db, probe.CallId, ct);
            result["rawTemplate"] = template.Describe();
            result["rawTemplateCallRowsOnly"] = callRowsTemplate.Describe();
            Console.WriteLine($"raw template: {template.Describe()}; the call's rows only (stops 40 – 66): {callRowsTemplate.Describe()}");
            result["serverCpuSecondsTotal"] = Math.Round(server.CpuTime().TotalSeconds, 2);
            result["serverPeakWorkingSetMb"] = server.PeakWorkingSetMb();
            Console.WriteLine($"server peak working set {result["serverPeakWorkingSetMb"]} MB");
            result["webhooksReceived"] = receiver.Received;
            await server.DisposeAsync();
            // The server's log (warnings and errors) outlives the run's temporary folder, to explain any error it counted.
            var keptLog = Path.Combine(Path.GetTempPath(), $"switchboard-ingest-server-{provider}.log");
            File.Copy(server.LogPath, keptLog, overwrite: true);
            Console.WriteLine($"server log: {keptLog}");
            server = null;

            var migrateEnv = new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Switchboard__Database__Provider"] = provider,
                ["Switchboard__Database__ConnectionString"] = db.RawConnectionString,
                ["Logging__LogLevel__Default"] = "Warning",
            };
            var (code, output) = await ServerProcess.RunCommandAsync(serverDll, rawDir, migrateEnv, ["migrate"], TimeSpan.FromSeconds(180), ct);
            if (code != 0)
            {
                throw new InvalidOperationException($"migrate failed ({code}): {output}");
            }
            await template.CopyTenantAsync(db, ct);
            async Task<(RawResult Raw, RawResult Serial)> RawOfAsync(RowTemplate rows, string name)
            {
                await RawInsert.RunAsync(db, rows, concurrency, TimeSpan.FromSeconds(2), 1_000_000, cluster, ct);
                var many = await RawInsert.RunAsync(db, rows, concurrency, TimeSpan.FromSeconds(rawSeconds), 1_000_000, cluster, ct);
                var one = await RawInsert.RunAsync(db, rows, 1, TimeSpan.FromSeconds(rawSeconds), 1_000_000, cluster, ct);
                Console.WriteLine($"raw ({name}, {rows.RowCount} rows a call): {many.TransactionsPerSecond:F0} calls/s ({many.RowsPerSecond:F0} rows/s) at {concurrency} connections, " +
                                  $"{one.TransactionsPerSecond:F0} calls/s ({one.RowsPerSecond:F0} rows/s) at 1");
                return (many, one);
            }
            var (raw, raw1) = await RawOfAsync(template, "the call's rows and its deliveries'");
            var (rawCallRows, rawCallRows1) = await RawOfAsync(callRowsTemplate, "the call's rows only");
            result["raw"] = JsonSerializer.SerializeToNode(raw);
            result["rawSerial"] = JsonSerializer.SerializeToNode(raw1);
            result["rawCallRowsOnly"] = JsonSerializer.SerializeToNode(rawCallRows);
            result["rawSerialCallRowsOnly"] = JsonSerializer.SerializeToNode(rawCallRows1);
            // The same 58 rows committed message by message (one transaction per message of the call script), as a webhook
            // receiver must commit each message before answering it: the floor a per-message write path is held to.
            var rawPerMessage = await RawInsert.RunAsync(db, template, concurrency, TimeSpan.FromSeconds(rawSeconds), 1_000_000, cluster, ct, CallScript.Steps.Length);
            var rawPerMessage1 = await RawInsert.RunAsync(db, template, 1, TimeSpan.FromSeconds(rawSeconds), 1_000_000, cluster, ct, CallScript.Steps.Length);
            Console.WriteLine($"raw (the same {template.RowCount} rows in {CallScript.Steps.Length} transactions, one a message): " +
                              $"{rawPerMessage.TransactionsPerSecond:F0} calls/s at {concurrency} connections, {rawPerMessage1.TransactionsPerSecond:F0} calls/s at 1");
            result["rawPerMessage"] = JsonSerializer.SerializeToNode(rawPerMessage);
            result["rawPerMessageSerial"] = JsonSerializer.SerializeToNode(rawPerMessage1);
            // The disk's floor under a durable commit, in the run's own folder (the SQLite file's, and the temp folder the
            // throwaway PostgreSQL cluster lives in): the open loop's durable_wait phase cannot be shorter.
            var fsync = LatencySummary.Of(FsyncProbe.Run(work.FullName, TimeSpan.FromSeconds(Math.Max(3, rawSeconds)), 5000));
            result["rawFsyncMs"] = JsonSerializer.SerializeToNode(fsync);
            Console.WriteLine($"raw fsync ({FsyncProbe.BlockBytes / 1024} KiB appended, then fsync, one at a time, {fsync.Count}×): " +
                              $"p50/p90/p99/max {fsync.P50:F2}/{fsync.P90:F2}/{fsync.P99:F2}/{fsync.Max:F2} ms");
            // Same rows: the server's rows/s in the closed loop against the best raw rows/s (raw writes a call's rows in one
            // transaction; the server writes them in 15 deliveries).
            // The ratio is the server's calls per second over raw's (the row count cancels out); against the narrower template too.
            var closedCallsPerSecond = result["closedLoop"]!["messagesPerSecond"]!.GetValue<double>() / CallScript.Steps.Length;
            var bestRawCalls = Math.Max(raw.TransactionsPerSecond, raw1.TransactionsPerSecond);
            var bestRawCallRowsOnly = Math.Max(rawCallRows.TransactionsPerSecond, rawCallRows1.TransactionsPerSecond);
            result["ratioToRaw"] = Math.Round(bestRawCalls > 0 ? closedCallsPerSecond / bestRawCalls : 0, 3);
            result["ratioToRawCallRowsOnly"] = Math.Round(bestRawCallRowsOnly > 0 ? closedCallsPerSecond / bestRawCallRowsOnly : 0, 3);
            var bestRawPerMessage = Math.Max(rawPerMessage.TransactionsPerSecond, rawPerMessage1.TransactionsPerSecond);
            result["ratioToRawPerMessage"] = Math.Round(bestRawPerMessage > 0 ? closedCallsPerSecond / bestRawPerMessage : 0, 3);
            result["loadAverageAtEnd"] = BenchEnv.LoadAverage();
            Console.WriteLine($"closed loop ≈ {closedCallsPerSecond * template.RowCount:F0} rows/s ({closedCallsPerSecond:F1} calls/s) → ratio to best raw " +
                              $"{result["ratioToRaw"]} ({template.RowCount} rows a call); {result["ratioToRawCallRowsOnly"]} against the call's rows only " +
                              $"({callRowsTemplate.RowCount} rows a call, stops 40 – 66); {result["ratioToRawPerMessage"]} against the same rows one transaction a message; " +
                              $"load {BenchEnv.LoadAverage()}");
            return result;
        }
        finally
        {
            if (server is not null)
            {
                Console.WriteLine(server.LogTail());
                await server.DisposeAsync();
            }
            SqliteConnection.ClearAllPools();
            NpgsqlConnection.ClearAllPools();
            try
            {
                await db.DropAsync(CancellationToken.None);
                work.Delete(recursive: true);
            }
            catch (Exception e) when (e is DbException or IOException or InvalidOperationException)
            {
                Console.Error.WriteLine($"cleanup: {e.Message}");
            }
        }
    }

    private static async Task<string> RegisterEndpointAsync(HttpClient http, string baseUrl, string apiKey, string receiverUrl, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/api/v1/webhooks/endpoints")
        {
            Content = JsonContent(new JsonObject { ["url"] = receiverUrl, ["description"] = "ingest bench receiver", ["enabled"] = true }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await http.SendAsync(request, ct);
        var text = $"HTTP {(int)response.StatusCode}";
        if (!response.IsSuccessStatusCode)
        {
            text += ": " + await response.Content.ReadAsStringAsync(ct);
            Console.WriteLine($"!! webhook endpoint not registered ({text}): tenant webhooks will not flow");
        }
        return text;
    }

    private static StringContent JsonContent(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>One message to send: its kind (transcript partial and final apart), body and signature.</summary>
    internal sealed record Message(string Kind, byte[] Body, string Signature)
    {
        public bool IsRequestResponse => RequestResponse.Contains(Kind);
    }

    internal sealed record ScriptedCall(string CallId, Message[] Messages);

    private static async Task<string?> SendAsync(HttpClient http, Uri url, Message m, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(m.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("x-vapi-signature", m.Signature);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                return $"HTTP {(int)response.StatusCode}";
            }
            if (m.Kind == "tool-calls" && !(await response.Content.ReadAsStringAsync(ct)).Contains("\"results\"", StringComparison.Ordinal))
            {
                return "tool-calls reply without results";
            }
            return null;
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
    /// The largest the SQLite server database's WAL file (<c>…-wal</c>) grew while <paramref name="ct"/> was not cancelled,
    /// sampled every 250 ms, in bytes; null on PostgreSQL.
    /// </summary>
    private static async Task<long?> SampleWalAsync(DbTarget db, CancellationToken ct)
    {
        if (db.IsPostgres)
        {
            return null;
        }
        var wal = new FileInfo(new SqliteConnectionStringBuilder(db.ServerConnectionString).DataSource + "-wal");
        long max = 0;
        while (!ct.IsCancellationRequested)
        {
            wal.Refresh();
            max = Math.Max(max, wal.Exists ? wal.Length : 0);
            try
            {
                await Task.Delay(250, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return max;
    }

    /// <summary>
    /// Messages of ~<see cref="LiveCalls"/> interleaved calls at a constant rate: message i at start + i/rate whatever
    /// happened to the earlier ones; latency from that scheduled time to the end of its response.
    /// </summary>
    private static async Task<JsonObject> OpenLoopAsync(HttpClient http, Uri url, CallScript script, double rate, double seconds, ServerProcess server, DbTarget db,
        ServerPhases serverPhases, CancellationToken ct)
    {
        var total = (int)Math.Round(rate * seconds);
        var calls = Enumerable.Range(0, (int)Math.Ceiling((double)total / CallScript.Steps.Length) + 1).Select(script.Build).ToArray();
        var steps = CallScript.Steps.Length;
        // Call c's message j at "time" c + j·W/steps: about W calls live at once, each message of a call after the previous one.
        var order = calls.SelectMany((c, ci) => c.Messages.Select((m, j) => (Key: ci + (j * (double)LiveCalls / steps), Message: m)))
            .OrderBy(x => x.Key).Take(total).Select(x => x.Message).ToArray();
        Console.WriteLine($"open loop {rate} msg/s × {seconds} s ({order.Length} messages, {calls.Length} calls)");
        var latencies = new double[order.Length];
        var scheduledAt = new double[order.Length];
        var errors = new string?[order.Length];
        var tasks = new Task[order.Length];
        using var lagCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var lagSampler = SampleOutboxLagAsync(db, lagCts.Token);
        var walSampler = SampleWalAsync(db, lagCts.Token);
        var phasesBefore = await serverPhases.ScrapeAsync(ct);
        var gcBefore = await serverPhases.GcAsync(ct);
        var groupCommitBefore = await serverPhases.GroupCommitAsync(ct);
        var benchGcBefore = (Pause: GC.GetTotalPauseDuration(), Gen0: GC.CollectionCount(0), Gen1: GC.CollectionCount(1), Gen2: GC.CollectionCount(2));
        var meter = new ResourceMeter(server, db.Cluster);
        var start = Stopwatch.GetTimestamp();
        var next = 0;
        while (next < order.Length)
        {
            var due = Math.Min(order.Length, (int)Math.Floor(Stopwatch.GetElapsedTime(start).TotalSeconds * rate) + 1);
            while (next < due)
            {
                var i = next++;
                var scheduled = start + (long)(i / rate * Stopwatch.Frequency);
                scheduledAt[i] = i / rate;
                tasks[i] = Fire(i, scheduled);
            }
            if (next < order.Length)
            {
                await Load.PaceAsync(start, next, rate, ct);
            }
        }
        await Task.WhenAll(tasks);
        var duration = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var resources = meter.Stop();
        var inServer = ServerPhases.Between(phasesBefore, await serverPhases.ScrapeAsync(ct));
        var gc = ServerPhases.GcBetween(gcBefore, await serverPhases.GcAsync(ct), duration, errors.Count(e => e is null));
        var groupCommit = ServerPhases.GroupCommitBetween(groupCommitBefore, await serverPhases.GroupCommitAsync(ct));
        // The load generator's own collector: its pauses delay sends and the reading of answers, so they are in the latencies too.
        var benchGc = new JsonObject
        {
            ["pausedMs"] = Math.Round((GC.GetTotalPauseDuration() - benchGcBefore.Pause).TotalMilliseconds, 1),
            // By the generation collected, as the server's dotnet.gc.collections counts them (CollectionCount(n) counts older ones too).
            ["gen0"] = (GC.CollectionCount(0) - benchGcBefore.Gen0) - (GC.CollectionCount(1) - benchGcBefore.Gen1),
            ["gen1"] = (GC.CollectionCount(1) - benchGcBefore.Gen1) - (GC.CollectionCount(2) - benchGcBefore.Gen2),
            ["gen2"] = GC.CollectionCount(2) - benchGcBefore.Gen2,
        };
        await lagCts.CancelAsync();
        var lag = await lagSampler;
        var walMaxBytes = await walSampler;

        var ok = errors.Count(e => e is null);
        var okIdx = Enumerable.Range(0, order.Length).Where(i => errors[i] is null).ToArray();
        JsonNode Summary(IEnumerable<int> idx) => JsonSerializer.SerializeToNode(LatencySummary.Of(idx.Select(i => latencies[i])))!;
        var byKind = new JsonObject();
        foreach (var g in okIdx.GroupBy(i => order[i].Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            byKind[g.Key] = Summary(g);
        }
        var phase = new JsonObject
        {
            ["targetRate"] = rate,
            ["messages"] = order.Length,
            ["ok"] = ok,
            ["errors"] = order.Length - ok,
            ["errorsByKind"] = JsonSerializer.SerializeToNode(errors.Where(e => e is not null).GroupBy(e => e!).ToDictionary(g => g.Key, g => g.Count())),
            ["durationSeconds"] = Math.Round(duration, 2),
            ["achievedRate"] = Math.Round(ok / duration, 1),
            ["all"] = Summary(okIdx),
            ["requestResponse"] = Summary(okIdx.Where(i => order[i].IsRequestResponse)),
            ["fireAndForget"] = Summary(okIdx.Where(i => !order[i].IsRequestResponse)),
            ["first10s"] = Summary(okIdx.Where(i => scheduledAt[i] < 10)),
            ["first10sRequestResponse"] = Summary(okIdx.Where(i => scheduledAt[i] < 10 && order[i].IsRequestResponse)),
            ["after10s"] = Summary(okIdx.Where(i => scheduledAt[i] >= 10)),
            // p99 of the messages scheduled in each second of the phase (where a cold-start tail sits, and how long it lasts).
            ["p99BySecond"] = new JsonArray(okIdx.GroupBy(i => (int)scheduledAt[i]).OrderBy(g => g.Key)
                .Select(g => (JsonNode)Math.Round(LatencySummary.Of(g.Select(i => latencies[i])).P99, 1)).ToArray()),
            ["byKind"] = byKind,
            ["serverCpuMsPerMessage"] = ok > 0 ? Math.Round(resources.ServerCpuSeconds * 1000 / ok, 3) : 0,
            ["databaseCpuMsPerMessage"] = ok > 0 && resources.DatabaseCpuSeconds is { } d ? Math.Round(d * 1000 / ok, 3) : null,
            ["resources"] = JsonSerializer.SerializeToNode(resources),
            ["outboxLag"] = lag,
            ["walMaxMb"] = walMaxBytes is { } w ? Math.Round(w / 1048576.0, 1) : null,
            ["serverPhases"] = inServer,
            ["serverGc"] = gc,
            ["benchGc"] = benchGc,
            ["groupCommit"] = groupCommit,
        };
        Console.WriteLine($"  achieved {phase["achievedRate"]} msg/s, errors {phase["errors"]}; p50/p99 ms: all {P(phase["all"])}, " +
                          $"request/response {P(phase["requestResponse"])}, fire-and-forget {P(phase["fireAndForget"])}, first 10 s {P(phase["first10s"])}; " +
                          $"server CPU {phase["serverCpuMsPerMessage"]} ms/msg; outbox lag max {lag["maxSeconds"]} s (SMS {lag["smsMaxSeconds"]} s); " +
                          (walMaxBytes is { } wal ? $"WAL max {wal / 1048576.0:F1} MB; " : "") + $"load {resources.LoadAverageAfter}");
        Console.WriteLine($"  p99 by second (ms): {string.Join(' ', phase["p99BySecond"]!.AsArray().Select(x => x!.GetValue<double>().ToString("F0", CultureInfo.InvariantCulture)))}");
        Console.WriteLine($"  p50/p99 by kind (ms): {string.Join(", ", byKind.Select(k => $"{k.Key} {P(k.Value)}"))}");
        Console.WriteLine($"  p50/p99 in the server by phase (ms): {ServerPhases.Describe(inServer)}" +
                          (groupCommit is null ? "" : $"; group commit {groupCommit["unitsPerBatch"]} units per transaction ({groupCommit["units"]} in {groupCommit["batches"]})"));
        Console.WriteLine($"  server GC: {string.Join(", ", gc.Where(g => g.Key.StartsWith("gen", StringComparison.Ordinal)).Select(g => $"{g.Key} {g.Value}"))} collections, " +
                          $"{gc["pausedMs"]} ms paused ({gc["pausedShare"]!.GetValue<double>() * 100:F2} % of the phase), " +
                          $"{gc["allocatedKbPerMessage"]} KB allocated per message; bench GC: gen0 {benchGc["gen0"]}, gen1 {benchGc["gen1"]}, gen2 {benchGc["gen2"]}, " +
                          $"{benchGc["pausedMs"]} ms paused");
        return phase;

        async Task Fire(int i, long scheduled)
        {
            await Task.Yield();
            errors[i] = await SendAsync(http, url, order[i], ct);
            latencies[i] = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
        }
    }

    private static string P(JsonNode? s) => $"{s?["P50"]}/{s?["P99"]}";

    /// <summary>
    /// Most calls per second a closed loop is given ready-made (<see cref="ClosedLoopAsync"/>): 2.5 × the best measured on a
    /// quiet 2-core machine (~105 calls/s, stop 36).
    /// </summary>
    private const int PrebuiltCallsPerSecond = 250;

    /// <summary>
    /// C workers, each sending whole calls (15 messages in order) back to back: the sustained maximum, counted until the
    /// outbox has also delivered what the loop's messages gave it (<c>messagesPerSecond</c>; the loop's own rate beside it,
    /// <c>loopMessagesPerSecond</c>: a server may answer faster than its outbox delivers, for a while). The calls are built
    /// and signed before the clock starts, as the open loop's are (<see cref="PrebuiltCallsPerSecond"/> × seconds of them;
    /// past those a worker builds its next call itself), so that the load generator, on the same machine, takes as little
    /// of the CPU the server is measured on as it can; what it took is printed beside the server's (client CPU per message).
    /// </summary>
    private static async Task<JsonObject> ClosedLoopAsync(HttpClient http, Uri url, CallScript script, int concurrency, double seconds, ServerProcess server, DbTarget db,
        ServerPhases serverPhases, CancellationToken ct)
    {
        var prebuilt = Enumerable.Range(0, (int)Math.Ceiling(seconds * PrebuiltCallsPerSecond)).Select(i => script.Build(i + 1)).ToArray();
        // What an earlier phase left in the outbox is delivered first, so that its work is not counted against this loop.
        var backlogSeconds = await WaitForOutboxAsync(db, OutboxDrainLimit, ct);
        Console.WriteLine($"closed loop: {concurrency} workers × {seconds} s, whole calls ({prebuilt.Length} built beforehand; " +
                          $"outbox backlog before it delivered in {backlogSeconds?.ToString("F1", CultureInfo.InvariantCulture) ?? "> limit"} s)");
        using var lagCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var lagSampler = SampleOutboxLagAsync(db, lagCts.Token);
        var groupCommitBefore = await serverPhases.GroupCommitAsync(ct);
        var meter = new ResourceMeter(server, db.Cluster);
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(seconds * Stopwatch.Frequency);
        var next = 0;
        var perWorker = new List<(double Ms, string? Error)>[concurrency];
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = perWorker[w] = [];
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var n = Interlocked.Increment(ref next);
                var call = n <= prebuilt.Length ? prebuilt[n - 1] : script.Build(n);
                foreach (var m in call.Messages)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    var error = await SendAsync(http, url, m, ct);
                    mine.Add((Stopwatch.GetElapsedTime(t0).TotalMilliseconds, error));
                }
            }
        }, ct)));
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var resources = meter.Stop();
        await lagCts.CancelAsync();
        var lag = await lagSampler;
        // The outbox's share of the work (SMS alerts, tenant webhooks) that it had not done by the end of the loop: the loop's
        // rate alone would count a backlog left behind as throughput. Sustained = messages / (loop + time to deliver the rest).
        var drainSeconds = await WaitForOutboxAsync(db, OutboxDrainLimit, ct);
        var withOutbox = meter.Stop();
        var groupCommit = ServerPhases.GroupCommitBetween(groupCommitBefore, await serverPhases.GroupCommitAsync(ct)); // the outbox's rest included
        var all = perWorker.SelectMany(x => x).ToArray();
        var ok = all.Count(x => x.Error is null);
        var sustained = drainSeconds is { } drained ? ok / (elapsed + drained) : 0;
        var phase = new JsonObject
        {
            ["concurrency"] = concurrency,
            ["messages"] = all.Length,
            ["errors"] = all.Length - ok,
            ["messagesPerSecond"] = Math.Round(sustained, 1),
            ["loopMessagesPerSecond"] = Math.Round(ok / elapsed, 1),
            ["outboxLag"] = lag,
            ["outboxDrainSeconds"] = drainSeconds is { } ds ? Math.Round(ds, 2) : null,
            ["serverCpuMsPerMessageWithOutbox"] = ok > 0 ? Math.Round(withOutbox.ServerCpuSeconds * 1000 / ok, 3) : 0,
            ["latency"] = JsonSerializer.SerializeToNode(LatencySummary.Of(all.Where(x => x.Error is null).Select(x => x.Ms))),
            ["serverCpuMsPerMessage"] = ok > 0 ? Math.Round(resources.ServerCpuSeconds * 1000 / ok, 3) : 0,
            ["databaseCpuMsPerMessage"] = ok > 0 && resources.DatabaseCpuSeconds is { } d ? Math.Round(d * 1000 / ok, 3) : null,
            ["clientCpuMsPerMessage"] = ok > 0 ? Math.Round(resources.BenchCpuSeconds * 1000 / ok, 3) : 0,
            ["callsBuiltDuringRun"] = Math.Max(0, next - prebuilt.Length),
            ["resources"] = JsonSerializer.SerializeToNode(resources),
            ["groupCommit"] = groupCommit,
        };
        Console.WriteLine($"  {phase["messagesPerSecond"]} msg/s sustained ({phase["loopMessagesPerSecond"]} msg/s in the loop, then the outbox's rest delivered " +
                          $"in {phase["outboxDrainSeconds"]?.ToString() ?? "> limit"} s; outbox lag max {lag["maxSeconds"]} s), errors {phase["errors"]}, " +
                          $"p50/p99 {P(phase["latency"])} ms, server CPU {phase["serverCpuMsPerMessage"]} ms/msg ({phase["serverCpuMsPerMessageWithOutbox"]} with the rest), " +
                          (phase["databaseCpuMsPerMessage"] is { } database ? $"database CPU {database} ms/msg, " : "") +
                          $"client CPU {phase["clientCpuMsPerMessage"]} ms/msg, machine busy {resources.MachineCpuBusy:P0}" +
                          (groupCommit is null ? "" : $"; group commit {groupCommit["units"]} units in {groupCommit["batches"]} transactions ({groupCommit["unitsPerBatch"]} per transaction)"));
        return phase;
    }

    /// <summary>
    /// Server (and PostgreSQL) CPU per message of each kind, sent alone: <paramref name="count"/> fresh calls, each getting
    /// the messages of its script up to and including that kind, 8 workers; only the last message of each call is counted.
    /// </summary>
    private static async Task<JsonObject> CpuPerKindAsync(HttpClient http, Uri url, CallScript script, int count, ServerProcess server, DbTarget db, CancellationToken ct)
    {
        var result = new JsonObject();
        var seed = 10_000_000;
        foreach (var kind in CallScript.Steps.Select(s => s.Kind).Distinct())
        {
            var index = Array.FindIndex(CallScript.Steps, s => s.Kind == kind);
            var calls = Enumerable.Range(0, count).Select(_ => script.Build(seed++)).ToArray();
            // The messages before it, untimed: the kind is measured on a call in its real state.
            await Parallel.ForEachAsync(calls, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (c, t) =>
            {
                for (var j = 0; j < index; j++)
                {
                    await SendAsync(http, url, c.Messages[j], t);
                }
            });
            var meter = new ResourceMeter(server, db.Cluster);
            var errors = 0;
            await Parallel.ForEachAsync(calls, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (c, t) =>
            {
                if (await SendAsync(http, url, c.Messages[index], t) is not null)
                {
                    Interlocked.Increment(ref errors);
                }
            });
            var r = meter.Stop();
            result[kind] = new JsonObject
            {
                ["serverCpuMs"] = Math.Round(r.ServerCpuSeconds * 1000 / count, 3),
                ["databaseCpuMs"] = r.DatabaseCpuSeconds is { } d ? Math.Round(d * 1000 / count, 3) : null,
                ["errors"] = errors,
            };
            Console.WriteLine($"  cpu {kind}: server {result[kind]!["serverCpuMs"]} ms, db {result[kind]!["databaseCpuMs"]} ms");
        }
        return result;
    }

    /// <summary>Longest a closed loop waits for the outbox to deliver what is due (past it, the loop counts as not sustained).</summary>
    private static readonly TimeSpan OutboxDrainLimit = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Seconds until no outbox row is pending and due (claimed ones included: a claim keeps the row pending), polled every
    /// 100 ms; null if some still are after <paramref name="limit"/>. Rows scheduled for later (an SMS alert held until
    /// business hours, a retry's backoff) are not waited for.
    /// </summary>
    private static async Task<double?> WaitForOutboxAsync(DbTarget db, TimeSpan limit, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        await using var conn = await db.OpenAsync(db.ServerConnectionString, ct);
        while (true)
        {
            await using (var cmd = conn.CreateCommand())
            {
                cmd.CommandText = """SELECT COUNT(*) FROM outbox WHERE "Status" = 'pending' AND "NextAttemptAt" <= @now""";
                AddNow(cmd, db);
                if (Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) == 0)
                {
                    return Stopwatch.GetElapsedTime(start).TotalSeconds;
                }
            }
            if (Stopwatch.GetElapsedTime(start) > limit)
            {
                return null;
            }
            await Task.Delay(100, ct);
        }
    }

    /// <summary>Binds <c>@now</c> to the current instant as the server stores it (PostgreSQL timestamptz, SQLite UTC ticks); returns it.</summary>
    private static DateTimeOffset AddNow(DbCommand cmd, DbTarget db)
    {
        var now = DateTimeOffset.UtcNow;
        var p = cmd.CreateParameter();
        p.ParameterName = "@now";
        p.Value = db.IsPostgres ? now : now.UtcTicks;
        cmd.Parameters.Add(p);
        return now;
    }

    /// <summary>Samples, every 500 ms, the age of the oldest due pending outbox row (its <c>NextAttemptAt</c>) and how many are due.</summary>
    private static async Task<JsonObject> SampleOutboxLagAsync(DbTarget db, CancellationToken ct)
    {
        var ages = new List<double>();
        var smsAges = new List<double>();
        var due = new List<long>();
        try
        {
            await using var conn = await db.OpenAsync(db.ServerConnectionString, ct);
            while (!ct.IsCancellationRequested)
            {
                await using (var cmd = conn.CreateCommand())
                {
                    cmd.CommandText = """
                        SELECT MIN("NextAttemptAt"), COUNT(*), MIN(CASE WHEN "Kind" = 'sms.send' THEN "NextAttemptAt" END)
                        FROM outbox WHERE "Status" = 'pending' AND "NextAttemptAt" <= @now
                        """;
                    var now = AddNow(cmd, db);
                    await using var reader = await cmd.ExecuteReaderAsync(ct);
                    await reader.ReadAsync(ct);
                    var age = reader.IsDBNull(0) ? 0
                        : db.IsPostgres ? (now - reader.GetFieldValue<DateTimeOffset>(0)).TotalSeconds
                        : (now.UtcTicks - reader.GetInt64(0)) / (double)TimeSpan.TicksPerSecond;
                    ages.Add(age);
                    due.Add(reader.GetInt64(1));
                    smsAges.Add(reader.IsDBNull(2) ? 0
                        : db.IsPostgres ? (now - reader.GetFieldValue<DateTimeOffset>(2)).TotalSeconds
                        : (now.UtcTicks - reader.GetInt64(2)) / (double)TimeSpan.TicksPerSecond);
                }
                await Task.Delay(500, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (DbException e)
        {
            Console.Error.WriteLine($"outbox lag sampler: {e.Message}");
        }
        return new JsonObject
        {
            ["samples"] = ages.Count,
            ["maxSeconds"] = ages.Count == 0 ? 0 : Math.Round(ages.Max(), 2),
            ["p50Seconds"] = ages.Count == 0 ? 0 : Math.Round(ages.Order().ElementAt(ages.Count / 2), 2),
            ["maxDue"] = due.Count == 0 ? 0 : due.Max(),
            ["smsMaxSeconds"] = smsAges.Count == 0 ? 0 : Math.Round(smsAges.Max(), 2), // the oldest SMS alert waiting to be sent
        };
    }

    private static async Task<JsonObject> OutboxCountsAsync(DbTarget db, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(db.ServerConnectionString, ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = """SELECT "Kind", "Status", COUNT(*) FROM outbox GROUP BY "Kind", "Status" ORDER BY 1, 2""";
        var counts = new JsonObject();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            counts[$"{reader.GetString(0)}/{reader.GetString(1)}"] = reader.GetInt64(2);
        }
        Console.WriteLine($"outbox: {counts.ToJsonString()}");
        return counts;
    }

    /// <summary>Builds the 15 signed messages of one call from the fixtures, with a fresh call id.</summary>
    internal sealed class CallScript
    {
        public static readonly (string Kind, string Detail)[] Steps =
        [
            ("assistant-request", ""),
            ("status-update", "in-progress"),
            ("speech-update", "assistant started"),
            ("speech-update", "assistant stopped"),
            ("transcript-partial", "user"),
            ("transcript-final", "user"),
            ("speech-update", "user started"),
            ("conversation-update", "3"),
            ("tool-calls", "capture_lead"),
            ("transcript-partial", "assistant"),
            ("transcript-final", "assistant"),
            ("speech-update", "user stopped"),
            ("conversation-update", "6"),
            ("status-update", "ended"),
            ("end-of-call-report", ""),
        ];

        private readonly string eocr;
        private readonly string oldCallId;
        private readonly string secret;
        private readonly JsonArray conversation;

        public CallScript(string eocrFixture, string secret)
        {
            eocr = eocrFixture;
            this.secret = secret;
            var root = JsonNode.Parse(eocrFixture)!["message"]!;
            oldCallId = root["call"]!["id"]!.GetValue<string>();
            conversation = root["messages"]!.AsArray();
        }

        public ScriptedCall Build(int index)
        {
            var callId = Guid.NewGuid().ToString();
            var emergency = index % 5 == 0;
            var call = JsonNode.Parse(eocr)!["message"]!["call"]!;
            call["id"] = callId;
            var messages = new Message[Steps.Length];
            for (var i = 0; i < Steps.Length; i++)
            {
                var (kind, detail) = Steps[i];
                JsonObject message;
                if (kind == "end-of-call-report")
                {
                    messages[i] = Sign(kind, Encoding.UTF8.GetBytes(eocr.Replace(oldCallId, callId, StringComparison.Ordinal)));
                    continue;
                }
                message = kind switch
                {
                    "assistant-request" => new JsonObject { ["type"] = kind },
                    "status-update" => new JsonObject
                    {
                        ["type"] = kind, ["status"] = detail,
                        ["endedReason"] = detail == "ended" ? "customer-ended-call" : null,
                    },
                    "speech-update" => new JsonObject
                    {
                        ["type"] = kind, ["status"] = detail.Split(' ')[1], ["role"] = detail.Split(' ')[0], ["turn"] = i,
                    },
                    "transcript-partial" or "transcript-final" => new JsonObject
                    {
                        ["type"] = "transcript", ["role"] = detail, ["transcriptType"] = kind == "transcript-final" ? "final" : "partial",
                        ["transcript"] = detail == "user" ? "My basement is flooding, water everywhere" : "I'm taking your details right now.",
                    },
                    "conversation-update" => new JsonObject
                    {
                        ["type"] = kind,
                        ["messages"] = new JsonArray(conversation.Take(int.Parse(detail, CultureInfo.InvariantCulture)).Select(m => m!.DeepClone()).ToArray()),
                    },
                    "tool-calls" => ToolCalls(index, emergency),
                    _ => throw new InvalidOperationException(kind),
                };
                message["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                message["call"] = call.DeepClone();
                messages[i] = Sign(kind, Encoding.UTF8.GetBytes(new JsonObject { ["message"] = message }.ToJsonString()));
            }
            return new ScriptedCall(callId, messages);
        }

        private static JsonObject ToolCalls(int index, bool emergency)
        {
            JsonObject Call() => new()
            {
                ["id"] = $"call_{index:x}",
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = "capture_lead",
                    ["arguments"] = new JsonObject
                    {
                        ["name"] = "Sylvie Tremblay",
                        ["phone"] = "+15145550" + (index % 1000).ToString("000", CultureInfo.InvariantCulture),
                        ["address"] = "1234 rue Beaubien Est, Montréal",
                        ["problem"] = emergency ? "Basement flooding, burst pipe" : "Dripping kitchen faucet",
                        ["urgency"] = emergency ? "emergency" : "routine",
                    },
                },
            };
            return new JsonObject { ["type"] = "tool-calls", ["toolCalls"] = new JsonArray(Call()), ["toolCallList"] = new JsonArray(Call()) };
        }

        private Message Sign(string kind, byte[] body) => new(kind, body, "sha256=" + VapiSignatureVerifier.Sign(body, secret));
    }

    /// <summary>A tenant webhook receiver on 127.0.0.1 answering 200 to every POST; counts what it received.</summary>
    private sealed class WebhookReceiver : IDisposable
    {
        private readonly HttpListener listener = new();
        private int received;

        public WebhookReceiver()
        {
            var port = BenchEnv.FreePort();
            Url = $"http://127.0.0.1:{port}/hook";
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            listener.Start();
            _ = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public int Received => Volatile.Read(ref received);

        private async Task LoopAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                Interlocked.Increment(ref received);
                await context.Request.InputStream.CopyToAsync(Stream.Null);
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }

        public void Dispose() => listener.Close();
    }
}

/// <summary>
/// What PostgreSQL spent its time on during the closed loops, from <c>pg_stat_statements</c> (postgresql.org/docs/15/pgstatstatements.html),
/// when the cluster was started with <c>--pg-setting shared_preload_libraries=pg_stat_statements</c>.
/// </summary>
internal static class PgStatements
{
    /// <summary>Creates the extension in the server's database and empties its counters; false when the module is not loaded.</summary>
    public static async Task<bool> TryResetAsync(DbTarget db, CancellationToken ct)
    {
        try
        {
            await using var conn = await db.OpenAsync(db.ServerConnectionString, ct);
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();";
            await cmd.ExecuteNonQueryAsync(ct);
            return true;
        }
        catch (DbException)
        {
            return false; // not preloaded: nothing to report
        }
    }

    /// <summary>Statements executed since the reset, every one (BEGIN and COMMIT included), the bench's own reads too.</summary>
    public static async Task<long> TotalCallsAsync(DbTarget db, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(db.ServerConnectionString, ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE toplevel";
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// How many distinct statements ran (and how many of them 5 times or more: Npgsql's <c>Auto Prepare Min Usages</c>), and,
    /// with <c>pg_stat_statements.track_planning=on</c>, the planning time against the execution time: statements that are
    /// not prepared are planned at every execution.
    /// </summary>
    public static async Task<JsonObject> PlanningAsync(DbTarget db, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(db.ServerConnectionString, ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = """
            SELECT count(*), count(*) FILTER (WHERE calls >= 5), coalesce(sum(plans), 0)::bigint, coalesce(sum(total_plan_time), 0),
                   coalesce(sum(calls), 0)::bigint, coalesce(sum(total_exec_time), 0),
                   coalesce(sum(shared_blks_hit + shared_blks_read), 0)::bigint, coalesce(sum(wal_bytes), 0)::bigint
            FROM pg_stat_statements WHERE toplevel
            """;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var o = new JsonObject
        {
            ["distinct"] = reader.GetInt64(0), ["distinctAtLeast5"] = reader.GetInt64(1), ["plans"] = reader.GetInt64(2),
            ["planMs"] = Math.Round(reader.GetDouble(3), 1), ["calls"] = reader.GetInt64(4), ["execMs"] = Math.Round(reader.GetDouble(5), 1),
            ["buffers"] = reader.GetInt64(6), ["walBytes"] = reader.GetInt64(7),
        };
        Console.WriteLine($"  buffers touched {o["buffers"]}, WAL {o["walBytes"]} bytes (top-level statements, nested ones included in them)");
        Console.WriteLine($"  distinct statements {o["distinct"]} ({o["distinctAtLeast5"]} run 5+ times); plans {o["plans"]} taking {o["planMs"]} ms " +
                          $"(track_planning) for {o["calls"]} executions taking {o["execMs"]} ms");
        return o;
    }

    /// <summary>
    /// The <paramref name="count"/> statements with the most execution time since the reset (or, with <paramref name="byCalls"/>,
    /// the most executions: round trips and per-statement overhead), printed and returned.
    /// </summary>
    public static async Task<JsonArray> TopAsync(DbTarget db, int count, CancellationToken ct, bool byCalls = false)
    {
        var top = new JsonArray();
        await using var conn = await db.OpenAsync(db.ServerConnectionString, ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"""
            SELECT calls, total_exec_time, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 160),
                   (shared_blks_hit + shared_blks_read)::float8 / greatest(calls, 1), wal_bytes::float8 / greatest(calls, 1)
            FROM pg_stat_statements ORDER BY {(byCalls ? "calls" : "total_exec_time")} DESC LIMIT {count}
            """;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        Console.WriteLine($"  PostgreSQL statements, {(byCalls ? "most executed" : "most execution time")} first (calls, total ms, mean ms, rows, " +
                          "buffers touched per call, WAL bytes per call, text):");
        while (await reader.ReadAsync(ct))
        {
            var calls = reader.GetInt64(0);
            var total = reader.GetDouble(1);
            // Buffers touched and WAL written per execution do not move with the host's load, unlike the times: the figures to
            // compare when a change is meant to make a statement do less (an index or a trigger dropped, an update made HOT).
            top.Add(new JsonObject
            {
                ["calls"] = calls, ["totalMs"] = Math.Round(total, 1), ["rows"] = reader.GetInt64(2), ["query"] = reader.GetString(3),
                ["buffersPerCall"] = Math.Round(reader.GetDouble(4), 1), ["walBytesPerCall"] = Math.Round(reader.GetDouble(5)),
            });
            Console.WriteLine($"    {calls,8} {total,10:F0} {total / Math.Max(1, calls),8:F3} {reader.GetInt64(2),8} {reader.GetDouble(4),7:F1} {reader.GetDouble(5),7:F0}  {reader.GetString(3)}");
        }
        return top;
    }
}
