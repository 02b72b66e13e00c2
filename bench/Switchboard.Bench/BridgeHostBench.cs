using System.Diagnostics;
using System.Globalization;

namespace Switchboard.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/Switchboard.Bench -- bridge-host [--server .build/switchboard/Switchboard.dll]
/// [--realtime-url ws://127.0.0.1:7070/v1/realtime] [--db sqlite|postgres]</c>
/// <para>
/// Starts a Switchboard server for an outside harness (../shared/bench/bridgebench, driven by bench/bridgebench.sh): a fresh
/// server process with its shipped runtime settings, SQLite in a temporary folder (or a throwaway PostgreSQL cluster), the
/// demo tenant seeded, its realtime URL the harness's mock (the operator's <c>Switchboard:Realtime:BaseUrl</c>, so the
/// shipped connect timeout and queue apply unchanged), recording off and the plan's concurrent-call limit lifted. When the
/// server is ready it prints one line, <c>BRIDGE_HOST pid=… voice-url=… auth-token=…</c>, and keeps the server running
/// until its standard input closes (or the process is stopped), then stops the server and removes the folder.
/// </para>
/// </summary>
internal static class BridgeHostBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? server = null;
        var realtimeUrl = "ws://127.0.0.1:7070/v1/realtime";
        var database = "sqlite";
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--server": server = args[++i]; break;
                case "--realtime-url": realtimeUrl = args[++i]; break;
                case "--db": database = args[++i]; break;
                default:
                    Console.Error.WriteLine($"bridge-host: unknown argument {args[i]}");
                    return 2;
            }
        }
        server = server is null ? await VoiceBench.BuildServerAsync() : Path.GetFullPath(server);
        var work = Directory.CreateTempSubdirectory("switchboard-bridge-host-");
        await using var postgres = database == "postgres" ? await PostgresCluster.StartAsync() : null;
        var url = $"http://127.0.0.1:{VoiceBench.FreePort()}";
        var info = new ProcessStartInfo("dotnet", [server])
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
        info.Environment["Switchboard__Realtime__BaseUrl"] = realtimeUrl;
        info.Environment["Logging__LogLevel__Default"] = "Error";
        info.Environment["Logging__LogLevel__Switchboard.Realtime"] = "Warning";
        info.Environment["Switchboard__Billing__Plans__pro__ConcurrentCalls"] = "100000"; // the demo tenant's plan
        using var process = Process.Start(info) ?? throw new InvalidOperationException("The server did not start.");
        var log = new System.Text.StringBuilder();
        var warnings = 0;
        void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (log)
            {
                if (line.Contains("Warn", StringComparison.Ordinal) || line.Contains("Error", StringComparison.Ordinal))
                {
                    warnings++;
                }
                if (log.Length < 4_000_000)
                {
                    log.AppendLine(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            await VoiceBench.WaitHealthyAsync(http, process, log);
            var (tenantId, token) = await VoiceBench.ConfigureTenantAsync(work.FullName, postgres?.ConnectionString);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"BRIDGE_HOST pid={process.Id} voice-url={url}/webhooks/twilio/voice/{tenantId} auth-token={token}"));
            // Until the caller closes our standard input (or stops us).
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    stop.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            };
            var stdin = Task.Run(() => Console.In.ReadToEnd());
            await Task.WhenAny(stdin, process.WaitForExitAsync(), Task.Delay(Timeout.Infinite, stop.Token));
            lock (log)
            {
                // The warnings and errors by message (numbers masked), so a run's lost calls and their causes read at a glance.
                var byMessage = log.ToString().Split('\n')
                    .Select(l => System.Text.RegularExpressions.Regex.Match(l, "\"Message\":\"([^\"]{0,160})"))
                    .Where(m => m.Success)
                    .GroupBy(m => System.Text.RegularExpressions.Regex.Replace(m.Groups[1].Value, "[0-9]+", "#"))
                    .OrderByDescending(g => g.Count());
                Console.WriteLine($"bridge-host: server log had {warnings} warning/error lines (the first 4 MB kept), by message:");
                foreach (var g in byMessage.Take(8))
                {
                    Console.WriteLine($"  {g.Count()} × {g.Key}");
                }
            }
            try
            {
                Console.WriteLine("bridge-host: calls by end: " + await VoiceBench.EndedReasonsAsync(work.FullName, postgres?.ConnectionString));
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
            {
                Console.WriteLine("bridge-host: calls by end: unavailable (" + e.Message + ")");
            }
            return 0;
        }
        finally
        {
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
}
