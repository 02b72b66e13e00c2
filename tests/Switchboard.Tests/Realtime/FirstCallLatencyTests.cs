using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Switchboard.Simulators;
using Xunit.Abstractions;

namespace Switchboard.Tests.Realtime;

/// <summary>
/// The first native call on a freshly started server process (its own process: compiled code is per process, so an
/// in-process host would already be warm) greets about as fast as the next one: the bridge is warmed before
/// <c>/readyz</c> says ready (BridgeWarmup). The provider refuses μ-law (the transcoding path) and thinks 150 ms.
/// </summary>
public sealed class FirstCallLatencyTests(ITestOutputHelper output)
{
    private const int ModelMs = 150;
    private static readonly Guid DemoTenant = Guid.Parse("6d0a1c8e-2f4b-4c1a-9e57-d1a9f0a7c001");

    [Fact]
    public async Task TheFirstCallOnAFreshProcessGreetsWithinItsBound()
    {
        var script = new ProviderScript
        {
            Greeting = new ScriptedSpeech { Text = "Drain Fortin, bonjour!", AudioMs = 600 },
            FirstAudioDelayMs = ModelMs,
            AcceptPcmu = false,
        };
        await using var pacer = new SimPacer();
        await using var provider = await RealtimeProviderSimulator.StartAsync(script, 0, pacer);
        var caller = new CallerScript { Steps = [new() { Listen = true }, new() { Hangup = true }] };

        // A first server only warms this test process (its simulators are cold too); the second is measured.
        for (var round = 0; round < 2; round++)
        {
            await using var server = await ServerProcess.StartAsync(provider.Url, output);
            var twilio = new TwilioCallSimulator(server.Url, server.TwilioAuthToken, pacer);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var first = await twilio.PlaceCallAsync(DemoTenant, caller, timeout.Token);
            if (round == 0)
            {
                continue;
            }
            var second = await twilio.PlaceCallAsync(DemoTenant, caller, timeout.Token);
            var firstMs = await server.GreetingMsAsync(first.CallSid);
            var secondMs = await server.GreetingMsAsync(second.CallSid);
            output.WriteLine($"greeting: first call {firstMs:0} ms, second {secondMs:0} ms (the model takes {ModelMs} ms)");

            // Target 300 ms on a quiet machine (issue 15; 538 ms before the warm-up, when the first call was ~290 ms slower
            // than the next). The bound leaves room for a loaded test machine: the first call may be at most 150 ms slower
            // than the second, and never wildly slow.
            Assert.InRange(firstMs, ModelMs, 1500);
            Assert.True(firstMs <= secondMs + 150, $"first call {firstMs:0} ms, second {secondMs:0} ms\n{server.Log}");
        }
    }

    /// <summary>A server process on a fresh SQLite folder with the demo tenant, its realtime URL pointed at the test's provider.</summary>
    private sealed class ServerProcess : IAsyncDisposable
    {
        private readonly Process process;
        private readonly DirectoryInfo folder;
        private readonly System.Text.StringBuilder log = new();

        private ServerProcess(Process process, DirectoryInfo folder, Uri url)
        {
            this.process = process;
            this.folder = folder;
            Url = url;
        }

        public Uri Url { get; }

        public string TwilioAuthToken { get; private set; } = "";

        public string Log
        {
            get
            {
                lock (log)
                {
                    return log.ToString();
                }
            }
        }

        public static async Task<ServerProcess> StartAsync(string providerUrl, ITestOutputHelper output)
        {
            var folder = Directory.CreateTempSubdirectory("switchboard-first-call-");
            var url = $"http://127.0.0.1:{FreePort()}";
            var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Switchboard.dll")])
            {
                WorkingDirectory = folder.FullName,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.Environment["ASPNETCORE_URLS"] = url;
            info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            info.Environment["Switchboard__Demo__SeedOnEmptyDatabase"] = "true";
            info.Environment["Switchboard__Realtime__BaseUrl"] = providerUrl;
            info.Environment["Logging__LogLevel__Default"] = "Warning";
            // The webhook path's tiering rounds (up to 30 s before ready) are not what this test measures.
            info.Environment["Switchboard__Vapi__WarmUpTieringSeconds"] = "0";
            if (Environment.GetEnvironmentVariable("SWITCHBOARD_TEST_WARMUP") is { } warmup)
            {
                info.Environment["Switchboard__Voice__WarmUpOnStart"] = warmup; // to measure without it
            }
            var server = new ServerProcess(Process.Start(info)!, folder, new Uri(url));
            server.process.OutputDataReceived += (_, e) => server.Append(e.Data);
            server.process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            server.process.BeginOutputReadLine();
            server.process.BeginErrorReadLine();
            try
            {
                using var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(30) };
                var started = Stopwatch.StartNew();
                await ReadyAsync(http, server);
                output.WriteLine($"ready after {started.ElapsedMilliseconds} ms");
                server.TwilioAuthToken = await DemoTenantTokenAsync(folder.FullName);
                return server;
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        private void Append(string? line)
        {
            lock (log)
            {
                log.AppendLine(line);
            }
        }

        /// <summary>The server's greeting latency of a call (stream start → first greeting frame sent), once the call is finished.</summary>
        public async Task<double> GreetingMsAsync(string callSid)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            await using var db = new SqliteConnection($"Data Source={Path.Combine(folder.FullName, "data", "switchboard.db")}");
            await db.OpenAsync();
            while (true)
            {
                await using var read = db.CreateCommand();
                read.CommandText = "SELECT \"GreetingLatencyMs\" FROM calls WHERE \"ProviderCallId\" = $sid";
                read.Parameters.AddWithValue("$sid", callSid);
                if (await read.ExecuteScalarAsync() is double ms)
                {
                    return ms;
                }
                Assert.True(DateTime.UtcNow < deadline, $"no greeting latency recorded for {callSid}");
                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync()
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }

        private static async Task ReadyAsync(HttpClient http, ServerProcess server)
        {
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < deadline)
            {
                Assert.False(server.process.HasExited, "the server exited:\n" + server.Log);
                try
                {
                    if ((await http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(100);
            }
            Assert.Fail("the server never became ready:\n" + server.Log);
        }
    }

    /// <summary>The seeded demo tenant's Twilio auth token, read with the server's own key ring (database + data/master.key).</summary>
    private static async Task<string> DemoTenantTokenAsync(string folder)
    {
        await using var db = new SqliteConnection($"Data Source={Path.Combine(folder, "data", "switchboard.db")}");
        await db.OpenAsync();
        await using (var recording = db.CreateCommand())
        {
            // No consent notice before the stream; the platform's realtime URL (this test's provider) for the tenant.
            recording.CommandText = "UPDATE assistants SET \"RecordingEnabled\" = 0; UPDATE tenants SET \"RealtimeBaseUrl\" = NULL";
            await recording.ExecuteNonQueryAsync();
        }
        await using var read = db.CreateCommand();
        read.CommandText = "SELECT \"TwilioAuthTokenProtected\" FROM tenants LIMIT 1"; // the demo seed's only tenant
        var protectedToken = (string)(await read.ExecuteScalarAsync())!;
        var keys = new List<string>();
        await using (var ring = db.CreateCommand())
        {
            ring.CommandText = "SELECT \"Xml\" FROM data_protection_keys";
            await using var reader = await ring.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                keys.Add(reader.GetString(0));
            }
        }
        var masterKey = Convert.FromBase64String((await File.ReadAllTextAsync(Path.Combine(folder, "data", "master.key"))).Trim());
        return Switchboard.Platform.Cluster.SharedKeyRing.ReadOnlyProvider(keys, masterKey, "switchboard")
            .CreateProtector("Switchboard.Credentials.v1").Unprotect(protectedToken);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
