using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Switchboard.Realtime.Bridge;
using Switchboard.Simulators;

namespace Switchboard.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/Switchboard.Bench -- voice [--calls 100,500,1000,2000] [--seconds 60]
/// [--warmup 10] [--ramp 100] [--delta-ms 20] [--server .build/switchboard/Switchboard.dll]</c>
/// <para>
/// For each N: a fresh Switchboard server process (SQLite in a temporary folder, demo tenant), the realtime provider
/// simulator and N simulated Twilio calls in this process, on the same machine. Every call is real-time paced in both
/// directions: the caller talks ~30 % of the time (1.5 s utterances, 20 ms μ-law frames), the provider answers each
/// utterance with 2.5 s of audio in real-time paced deltas. Reported, over the measurement window after every call is
/// up: the server's CPU per call and resident memory per call (from /proc through <see cref="Process"/>), its managed
/// heap, the bridge-added latency (provider delta read → frame handed to Twilio's socket; the server's
/// <c>/metrics/voice</c> histogram) p50/p99 and frames over 20 ms, and the end-to-end latency seen by the simulators
/// (provider send → Twilio receive, timestamps carried in the audio), which adds two loopback hops.
/// </para>
/// </summary>
internal static class VoiceBench
{
    private sealed record Result(
        int Calls, int Connected, double CpuPerCallPct, double RssPerCallKb, double HeapPerCallKb, double BridgeP50Ms, double BridgeP99Ms,
        double BridgeP999Ms, long LateFrames, long FramesToTwilio, double E2eP50Ms, double E2eP99Ms, double ServerCpuPct, double BenchCpuPct,
        double RssIdleMb, double RssLoadedMb, double RssAfterMb, long ActiveAfter);

    public static async Task<int> RunAsync(string[] args)
    {
        var counts = new List<int> { 100, 500, 1000, 2000 };
        var seconds = 60;
        var warmup = 10;
        var ramp = 100;
        var deltaMs = 100;
        string? server = null;
        var database = PostgresCluster.Available ? "postgres" : "sqlite";
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--calls": counts = args[++i].Split(',').Select(int.Parse).ToList(); break;
                case "--seconds": seconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--ramp": ramp = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--delta-ms": deltaMs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--server": server = args[++i]; break;
                case "--db": database = args[++i]; break;
                default:
                    Console.Error.WriteLine($"voice bench: unknown argument {args[i]}");
                    return 2;
            }
        }
        server ??= await BuildServerAsync();
        Console.WriteLine($"Voice bridge benchmark: {Environment.ProcessorCount} cores, server {server}, database {database}");
        Console.WriteLine($"  window {seconds} s after {warmup} s of warm-up, ramp {ramp} calls/s, provider deltas of {deltaMs} ms at real-time pace");
        var knobs = Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("SERVER_DOTNET_", StringComparison.Ordinal)).Order()
            .Select(k => $"{k["SERVER_".Length..]}={Environment.GetEnvironmentVariable(k)}").ToList();
        Console.WriteLine($"  server runtime settings: its runtimeconfig.json{(knobs.Count > 0 ? ", plus " + string.Join(' ', knobs) : "")}; load average {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}");
        var results = new List<Result>();
        foreach (var n in counts)
        {
            results.Add(await RunOnceAsync(server, n, seconds, warmup, ramp, deltaMs, database));
        }
        Console.WriteLine();
        Console.WriteLine("| calls | up | CPU/call (% core) | RSS/call (KB) | live heap/call (KB) | bridge p50 / p99 / p99.9 (ms) | frames > 20 ms | frames to Twilio | end-to-end p50 / p99 (ms) | server CPU | bench CPU |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Calls} | {r.Connected} | {r.CpuPerCallPct:0.00} | {r.RssPerCallKb:0} | {r.HeapPerCallKb:0} | {r.BridgeP50Ms:0.000} / {r.BridgeP99Ms:0.000} / {r.BridgeP999Ms:0.000} | {r.LateFrames} | {r.FramesToTwilio} | {r.E2eP50Ms:0.00} / {r.E2eP99Ms:0.00} | {r.ServerCpuPct:0}% | {r.BenchCpuPct:0}% |"));
        }
        Console.WriteLine();
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  N={r.Calls}: server RSS idle {r.RssIdleMb:0} MB, with calls {r.RssLoadedMb:0} MB, after hang-up {r.RssAfterMb:0} MB; bridges still active after hang-up: {r.ActiveAfter}"));
        }
        return 0;
    }

    internal static async Task<string> BuildServerAsync()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Switchboard.slnx")))
        {
            root = Path.GetDirectoryName(root.TrimEnd('/')) ?? throw new InvalidOperationException("Cannot find the repository root.");
        }
        var output = Path.Combine(root, ".build", "bench-server");
        Console.WriteLine("Building the server (Release)…");
        var start = new ProcessStartInfo("dotnet", ["build", Path.Combine(root, "src", "Switchboard", "Switchboard.csproj"), "-c", "Release", "-o", output, "--nologo", "-v", "quiet", "-clp:ErrorsOnly"]);
        using var build = Process.Start(start) ?? throw new InvalidOperationException("dotnet build did not start");
        await build.WaitForExitAsync();
        return build.ExitCode == 0 ? Path.Combine(output, "Switchboard.dll") : throw new InvalidOperationException("The server build failed.");
    }

    private static async Task<Result> RunOnceAsync(string serverDll, int n, int seconds, int warmup, int ramp, int deltaMs, string database)
    {
        Console.WriteLine();
        Console.WriteLine($"== {n} concurrent calls");
        var provider = new ProviderScript
        {
            Greeting = new ScriptedSpeech { Text = "Hello, how can I help?", AudioMs = 1500 },
            FirstAudioDelayMs = 100,
            DeltaMs = deltaMs,
            Pace = 1.0,
            StampAudio = true,
            Turns = [],
        };
        // Unscripted turns get a 0.7 s "I see."; give every utterance a 2.5 s answer instead.
        provider = provider with
        {
            Turns = Enumerable.Range(0, 1000).Select(i => new ScriptedTurn { Hears = $"utterance {i + 1}", Says = new ScriptedSpeech { Text = "Let me explain how we can help with that.", AudioMs = 2500 } }).ToList(),
        };
        var cycles = (seconds + warmup + (n / ramp) + 30) / 5;
        var steps = new List<CallerStep> { new() { Listen = true } };
        for (var i = 0; i < cycles; i++)
        {
            steps.Add(new CallerStep { Say = "tone:1500", Text = "utterance" });
            steps.Add(new CallerStep { Listen = true });
        }
        var caller = new CallerScript { Steps = steps, ListenTimeoutMs = 15000 };

        // One pacer for the provider side and several for the callers: a single timer thread sending tens of thousands
        // of frames a second would itself become the bottleneck of the measurement.
        await using var pacer = new SimPacer(20);
        var callerPacers = Enumerable.Range(0, 4).Select(_ => new SimPacer(20)).ToList();
        await using var sim = await RealtimeProviderSimulator.StartAsync(provider, 0, pacer);
        var work = Directory.CreateTempSubdirectory("switchboard-voice-bench-");
        await using var postgres = database == "postgres" ? await PostgresCluster.StartAsync() : null;
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        var info = new ProcessStartInfo("dotnet", [serverDll])
        {
            WorkingDirectory = work.FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ASPNETCORE_URLS"] = url;
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Switchboard__Demo__SeedOnEmptyDatabase"] = "true";
        if (postgres is not null)
        {
            info.Environment["Switchboard__Database__Provider"] = "postgres";
            info.Environment["Switchboard__Database__ConnectionString"] = postgres.ConnectionString;
        }
        info.Environment["Switchboard__Realtime__BaseUrl"] = sim.Url;
        info.Environment["Switchboard__Realtime__ConnectTimeoutMs"] = "10000";
        info.Environment["Logging__LogLevel__Default"] = "Error";
        info.Environment["Logging__LogLevel__Switchboard.Realtime"] = Environment.GetEnvironmentVariable("VOICE_BENCH_SERVER_LOG") == "1" ? "Warning" : "Error";
        info.Environment["Switchboard__Voice__MetricsMayCollect"] = "true";
        info.Environment["Switchboard__Billing__Plans__pro__ConcurrentCalls"] = "100000"; // the demo tenant's plan
        // The server runs with the runtime settings it ships with (its runtimeconfig.json), as ./switchboard runs it: forcing
        // workstation GC here (as this bench once did) measured another program than bridgebench does.
        foreach (var name in new[]
        {
            "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "DOTNET_GCgen0size", "DOTNET_gcServer",
            "DOTNET_GCConserveMemory", "DOTNET_GCDynamicAdaptationMode", "DOTNET_TieredPGO", "DOTNET_TieredCompilation",
        })
        {
            // Runtime knobs passed through to the server when set for the benchmark as SERVER_<name> (reported with the results).
            if (Environment.GetEnvironmentVariable("SERVER_" + name) is { } value)
            {
                info.Environment[name] = value;
            }
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("The server did not start.");
        var serverLog = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (serverLog) { if (serverLog.Length < 20000) { serverLog.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { lock (serverLog) { if (serverLog.Length < 20000) { serverLog.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            await WaitHealthyAsync(http, process, serverLog);
            var (tenantId, token) = await ConfigureTenantAsync(work.FullName, postgres?.ConnectionString);
            await SignInAsOperatorAsync(http, work.FullName);
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
            var webhookClient = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
            var twilios = callerPacers.Select(p => new TwilioCallSimulator(new Uri(url), token, p, webhookClient)).ToList();
            var twilio = twilios[0];

            // A few calls first: JIT, pools and caches, then the idle baseline.
            using (var warm = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                var quick = new CallerScript { Steps = [new() { Listen = true }, new() { Hangup = true }] };
                await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => twilio.PlaceCallAsync(tenantId, quick, warm.Token)));
            }
            await Task.Delay(2000);
            process.Refresh();
            var rssIdle = process.WorkingSet64;
            var heapIdle = Metric(await http.GetStringAsync("/metrics/voice?collect=true"), "switchboard_process_managed_heap_bytes");

            using var stop = new CancellationTokenSource();
            var failures = new Dictionary<string, int>();
            var calls = new List<Task>(n);
            var started = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                var simulator = twilios[i % twilios.Count];
                calls.Add(Task.Run(async () =>
                {
                    try
                    {
                        await simulator.PlaceCallAsync(tenantId, caller, stop.Token);
                    }
                    catch (Exception e) when (!stop.IsCancellationRequested)
                    {
                        var key = e.GetType().Name + ": " + (e.Message.Length > 160 ? e.Message[..160] : e.Message);
                        lock (failures)
                        {
                            failures[key] = failures.GetValueOrDefault(key) + 1;
                        }
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }));
                var due = TimeSpan.FromSeconds((i + 1) / (double)ramp);
                if (due > started.Elapsed)
                {
                    await Task.Delay(due - started.Elapsed);
                }
            }
            var deadline = DateTime.UtcNow.AddSeconds(60);
            double active;
            while ((active = Metric(await http.GetStringAsync("/metrics/voice"), "switchboard_voice_active_calls")) < n && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
            Console.WriteLine($"  {active} calls up after {started.Elapsed.TotalSeconds:0.0} s; warming up {warmup} s");
            lock (failures)
            {
                foreach (var (error, count) in failures.OrderByDescending(f => f.Value).Take(5))
                {
                    Console.WriteLine($"  {count} calls failed: {error}");
                }
                if (failures.Count > 0)
                {
                    lock (serverLog)
                    {
                        foreach (var line in serverLog.ToString().Split('\n').Where(l => l.Contains("\"Error\"", StringComparison.Ordinal)).Take(3))
                        {
                            Console.WriteLine("  server: " + (line.Length > 1500 ? line[..1500] : line));
                        }
                    }
                }
            }
            await Task.Delay(TimeSpan.FromSeconds(warmup));

            // Live heap with every call up, before the window (a forced collection pauses the server: never inside the window).
            var liveStart = Metric(await http.GetStringAsync("/metrics/voice?collect=true"), "switchboard_process_managed_heap_bytes");
            await Task.Delay(2000);
            var endToEnd = new LatencyHistogram();
            twilios.ForEach(t => t.EndToEnd = endToEnd);
            var callerFrames0 = twilios.Sum(t => t.FramesSent);
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var bench0 = Process.GetCurrentProcess().TotalProcessorTime;
            var window = Stopwatch.StartNew();
            long rssPeak = 0;
            double heapLoaded = 0;
            var metrics0 = await http.GetStringAsync("/metrics/voice");
            for (var elapsed = 0; elapsed < seconds; elapsed += 10)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, seconds - elapsed)));
                process.Refresh();
                rssPeak = Math.Max(rssPeak, process.WorkingSet64);
                var m = await http.GetStringAsync("/metrics/voice");
                heapLoaded = Math.Max(heapLoaded, Metric(m, "switchboard_process_managed_heap_bytes"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  t+{window.Elapsed.TotalSeconds:0}s: {Metric(m, "switchboard_voice_active_calls")} active, RSS {process.WorkingSet64 / 1048576.0:0} MB, heap {Metric(m, "switchboard_process_managed_heap_bytes") / 1048576.0:0} MB, bridge p99 {Quantile(m, "0.99") * 1000:0.000} ms, late {Metric(m, "switchboard_voice_late_frames_total")}"));
            }
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
            var benchCpu = (Process.GetCurrentProcess().TotalProcessorTime - bench0).TotalSeconds;
            var span = window.Elapsed.TotalSeconds;
            var metrics = await http.GetStringAsync("/metrics/voice");
            var connected = (int)Metric(metrics, "switchboard_voice_active_calls");
            var liveLoaded = Metric(await http.GetStringAsync("/metrics/voice?collect=true"), "switchboard_process_managed_heap_bytes");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  live heap with {n} calls: {liveStart / 1048576.0:0.0} MB before the window, {liveLoaded / 1048576.0:0.0} MB after it ({(liveLoaded - liveStart) / 1024.0 / span * 60:0} KB/min); idle {heapIdle / 1048576.0:0.0} MB"));
            var appends = Metric(metrics, "switchboard_voice_frames_to_provider_total") - Metric(metrics0, "switchboard_voice_frames_to_provider_total");
            var allocated = Metric(metrics, "switchboard_process_allocated_bytes_total") - Metric(metrics0, "switchboard_process_allocated_bytes_total");
            var frames = Metric(metrics, "switchboard_voice_frames_to_twilio_total") - Metric(metrics0, "switchboard_voice_frames_to_twilio_total");
            var callerFrames = twilios.Sum(t => t.FramesSent) - callerFrames0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  per call-second: {callerFrames / span / n:0.0} caller frames sent (50 expected), {appends / span / n:0.0} appends to the provider, {frames / span / n:0.0} frames to Twilio; server allocated {allocated / (appends + frames):0} bytes per forwarded frame"));

            await stop.CancelAsync();
            await Task.WhenAll(calls).ContinueWith(_ => { }, TaskScheduler.Default);
            var drained = DateTime.UtcNow.AddSeconds(60);
            double left;
            while ((left = Metric(await http.GetStringAsync("/metrics/voice"), "switchboard_voice_active_calls")) > 0 && DateTime.UtcNow < drained)
            {
                await Task.Delay(500);
            }
            await Task.Delay(3000);
            process.Refresh();
            var rssAfter = process.WorkingSet64;
            Console.WriteLine("  calls by end: " + await EndedReasonsAsync(work.FullName, postgres?.ConnectionString));
            if (Environment.GetEnvironmentVariable("VOICE_BENCH_SERVER_LOG") == "1")
            {
                lock (serverLog)
                {
                    foreach (var line in serverLog.ToString().Split('\n').Where(l => l.Contains("\"LogLevel\"", StringComparison.Ordinal)).Take(8))
                    {
                        Console.WriteLine("  server: " + (line.Length > 700 ? line[..700] : line));
                    }
                }
            }

            var result = new Result(
                n, connected,
                CpuPerCallPct: cpu / span / n * 100,
                RssPerCallKb: (rssPeak - rssIdle) / 1024.0 / n,
                HeapPerCallKb: (liveLoaded - heapIdle) / 1024.0 / n,
                BridgeP50Ms: WindowQuantile(metrics0, metrics, 0.5) * 1000,
                BridgeP99Ms: WindowQuantile(metrics0, metrics, 0.99) * 1000,
                BridgeP999Ms: WindowQuantile(metrics0, metrics, 0.999) * 1000,
                LateFrames: (long)(Metric(metrics, "switchboard_voice_late_frames_total") - Metric(metrics0, "switchboard_voice_late_frames_total")),
                FramesToTwilio: (long)(Metric(metrics, "switchboard_voice_frames_to_twilio_total") - Metric(metrics0, "switchboard_voice_frames_to_twilio_total")),
                E2eP50Ms: endToEnd.Quantile(0.5) / 1000.0,
                E2eP99Ms: endToEnd.Quantile(0.99) / 1000.0,
                ServerCpuPct: cpu / span * 100,
                BenchCpuPct: benchCpu / span * 100,
                RssIdleMb: rssIdle / 1048576.0,
                RssLoadedMb: rssPeak / 1048576.0,
                RssAfterMb: rssAfter / 1048576.0,
                ActiveAfter: (long)left);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  => CPU {result.CpuPerCallPct:0.00}% of a core per call, {result.RssPerCallKb:0} KB RSS per call, bridge p50 {result.BridgeP50Ms:0.000} ms p99 {result.BridgeP99Ms:0.000} ms, {result.LateFrames} late frames, end-to-end p99 {result.E2eP99Ms:0.00} ms"));
            return result;
        }
        finally
        {
            foreach (var p in callerPacers)
            {
                await p.DisposeAsync();
            }
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal static async Task WaitHealthyAsync(HttpClient http, Process process, System.Text.StringBuilder log)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("The server exited:\n" + log);
            }
            try
            {
                if ((await http.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("The server did not become healthy:\n" + log);
    }

    /// <summary>
    /// Points the seeded demo tenant at the platform's realtime URL (this run's simulator), turns recording off (its consent
    /// notice), and reads its Twilio auth token with the server's own Data Protection key ring. The plan's concurrent-call
    /// limit is lifted through configuration.
    /// </summary>
    internal static async Task<(Guid TenantId, string AuthToken)> ConfigureTenantAsync(string folder, string? postgres)
    {
        var tenantId = Guid.Parse("6d0a1c8e-2f4b-4c1a-9e57-d1a9f0a7c001");
        await using System.Data.Common.DbConnection connection = postgres is null
            ? new SqliteConnection($"Data Source={Path.Combine(folder, "data", "switchboard.db")}")
            : new Npgsql.NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using (var update = connection.CreateCommand())
        {
            update.CommandText = "UPDATE tenants SET \"RealtimeBaseUrl\" = NULL, \"VoiceMaxCallSeconds\" = 7200; UPDATE assistants SET \"RecordingEnabled\" = " +
                (postgres is null ? "0" : "FALSE");
            await update.ExecuteNonQueryAsync();
        }
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT \"TwilioAuthTokenProtected\" FROM tenants LIMIT 1";
        var protectedToken = (string)(await read.ExecuteScalarAsync())!;
        // The key ring is in the database, encrypted with the master key the server generated in data/master.key.
        var keyXml = new List<string>();
        await using (var keys = connection.CreateCommand())
        {
            keys.CommandText = "SELECT \"Xml\" FROM data_protection_keys";
            await using var reader = await keys.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                keyXml.Add(reader.GetString(0));
            }
        }
        var masterKey = Convert.FromBase64String((await File.ReadAllTextAsync(Path.Combine(folder, "data", "master.key"))).Trim());
        var protector = Switchboard.Platform.Cluster.SharedKeyRing.ReadOnlyProvider(keyXml, masterKey, "switchboard").CreateProtector("Switchboard.Credentials.v1");
        // /metrics/voice is for operators: the demo owner becomes one, and the bench signs in as them.
        await using (var grant = connection.CreateCommand())
        {
            grant.CommandText = "UPDATE users SET \"IsOperator\" = TRUE WHERE \"Email\" = 'owner@drainfortin.demo'";
            await grant.ExecuteNonQueryAsync();
        }
        return (tenantId, protector.Unprotect(protectedToken));
    }

    /// <summary>Signs in as the demo owner (made an operator by <see cref="ConfigureTenantAsync"/>) and keeps the session cookie on <paramref name="http"/>.</summary>
    private static async Task SignInAsOperatorAsync(HttpClient http, string folder)
    {
        using var saved = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "data", "demo-credentials.json")));
        var email = saved.RootElement.GetProperty("DashboardEmail").GetString();
        var password = saved.RootElement.GetProperty("DashboardPassword").GetString();
        using var login = await http.PostAsync("/api/v1/auth/login", new StringContent(
            System.Text.Json.JsonSerializer.Serialize(new { email, password }), System.Text.Encoding.UTF8, "application/json"));
        login.EnsureSuccessStatusCode();
        http.DefaultRequestHeaders.Add("Cookie", string.Join("; ", login.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0])));
    }

    /// <summary>How the run's calls ended, from the server's database (a call the bench hung up on ends as caller-hangup or stream-error).</summary>
    internal static async Task<string> EndedReasonsAsync(string folder, string? postgres)
    {
        await using System.Data.Common.DbConnection connection = postgres is null
            ? new SqliteConnection($"Data Source={Path.Combine(folder, "data", "switchboard.db")}")
            : new Npgsql.NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT COALESCE(\"EndedReason\", \"Status\"), COUNT(*) FROM calls GROUP BY 1 ORDER BY 2 DESC";
        await using var reader = await query.ExecuteReaderAsync();
        var parts = new List<string>();
        while (await reader.ReadAsync())
        {
            parts.Add($"{reader.GetString(0)} {reader.GetInt64(1)}");
        }
        return string.Join(", ", parts);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static double Metric(string text, string name)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(name) + @" (\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>A quantile (seconds) of the bridge latency over the window between two scrapes of the cumulative histogram.</summary>
    private static double WindowQuantile(string before, string after, double q)
    {
        static SortedDictionary<double, double> Buckets(string text) => new(Regex.Matches(text,
                @"^switchboard_voice_bridge_latency_histogram_seconds_bucket\{le=""([0-9.]+)""\} (\S+)$", RegexOptions.Multiline)
            .ToDictionary(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
        var b0 = Buckets(before);
        var b1 = Buckets(after);
        double CumulativeAt(SortedDictionary<double, double> b, double le) => b.Where(kv => kv.Key <= le).Select(kv => kv.Value).DefaultIfEmpty(0).Max();
        var bounds = b1.Keys.ToList();
        var total = CumulativeAt(b1, double.MaxValue) - CumulativeAt(b0, double.MaxValue);
        if (total <= 0)
        {
            return 0;
        }
        foreach (var le in bounds)
        {
            if (CumulativeAt(b1, le) - CumulativeAt(b0, le) >= q * total)
            {
                return le;
            }
        }
        return bounds[^1];
    }

    private static double Quantile(string text, string q)
    {
        var m = Regex.Match(text, "^switchboard_voice_bridge_latency_seconds\\{quantile=\"" + Regex.Escape(q) + "\"\\} (\\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}

/// <summary>
/// A throwaway PostgreSQL cluster for the benchmark (as ./test.sh does): <c>initdb</c> + <c>pg_ctl</c> from Debian's
/// packages in a temporary folder, on a free port, <c>fsync=off</c> (a benchmark, not a store), removed afterwards.
/// </summary>
internal sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string folder;
    private readonly string bin;
    private readonly string? user;

    private PostgresCluster(string folder, string bin, string? user, string connectionString)
    {
        this.folder = folder;
        this.bin = bin;
        this.user = user;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    private static string? Bin => Directory.Exists("/usr/lib/postgresql")
        ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderBy(d => d).LastOrDefault()
        : null;

    public static bool Available => Bin is not null;

    public static async Task<PostgresCluster> StartAsync()
    {
        var bin = Bin ?? throw new InvalidOperationException("PostgreSQL is not installed (apt-get install postgresql).");
        var folder = Directory.CreateTempSubdirectory("switchboard-bench-pg-").FullName;
        string? user = null;
        if (Environment.UserName == "root")
        {
            user = "postgres";
            await RunAsync("id", ["postgres"], null, check: false, createUser: true);
            await RunAsync("chown", [user, folder], null);
        }
        var port = 20000 + Random.Shared.Next(20000);
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", Path.Combine(folder, "data"), "-U", "switchboard", "--auth=trust", "-E", "UTF8"], user);
        await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(folder, "data"), "-l", Path.Combine(folder, "server.log"), "-w", "-t", "60", "-o",
            $"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300", "start"], user);
        return new PostgresCluster(folder, bin, user, $"Host=127.0.0.1;Port={port};Username=switchboard;Database=postgres;Maximum Pool Size=80");
    }

    private static async Task RunAsync(string file, string[] args, string? user, bool check = true, bool createUser = false)
    {
        var info = user is null ? new ProcessStartInfo(file, args) : new ProcessStartInfo("runuser", ["-u", user, "--", file, .. args]);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && createUser)
        {
            await RunAsync("useradd", ["--system", "--no-create-home", "postgres"], null);
            return;
        }
        if (process.ExitCode != 0 && check)
        {
            throw new InvalidOperationException($"{file} failed: {output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(folder, "data"), "-m", "immediate", "stop"], user, check: false);
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
