using Switchboard.Bench;

// Benchmark dispatcher: `dotnet run -c Release --project bench/Switchboard.Bench -- <mode> [options]`.
// Each mode lives in its own file and owns its options; `<mode> --help` prints them.
var mode = args.Length > 0 ? args[0] : "";
var rest = args.Length > 0 ? args[1..] : [];
switch (mode)
{
    case "vapi":
        return await VapiBench.RunAsync(rest);
    case "ingest":
        return await IngestBench.RunAsync(rest);
    case "voice":
        return await VoiceBench.RunAsync(rest);
    case "reads":
        return await ReadsBench.RunAsync(rest);
    case "knowledge":
        return await KnowledgeBench.RunAsync(rest);
    case "first-call":
        return await FirstCallBench.RunAsync(rest);
    case "bridge-host":
        return await BridgeHostBench.RunAsync(rest);
    case "relay-floor":
        return await RelayFloorBench.RunAsync(rest);
    default:
        Console.Error.WriteLine("Usage: dotnet run -c Release --project bench/Switchboard.Bench -- <mode> [options]");
        Console.Error.WriteLine("Modes:");
        Console.Error.WriteLine("  vapi    signed Vapi end-of-call reports against the real server, vs the raw insert rate (vapi --help)");
        Console.Error.WriteLine("  ingest  the message mix of live Vapi calls, open loop at fixed rates, outbox delivering; vs raw (IngestBench.cs)");
        Console.Error.WriteLine("  reads   the dashboard read side over 1,000,000 calls: list, filters, search, detail, analytics (reads --help)");
        Console.Error.WriteLine("  knowledge  retrieval latency at 10,000 chunks per tenant on SQLite and PostgreSQL (KnowledgeBench.cs)");
        Console.Error.WriteLine("  first-call  a fresh server process per round: greeting latency of its 1st call vs the 2nd-5th (FirstCallBench.cs)");
        Console.Error.WriteLine("  bridge-host  a server for ../shared/bench/bridgebench (bench/bridgebench.sh drives it; BridgeHostBench.cs)");
        Console.Error.WriteLine("  relay-floor  a byte-copying TCP relay: the CPU floor of a per-frame bridge for bridgebench (RelayFloorBench.cs)");
        Console.Error.WriteLine("  voice   N concurrent real-time native calls through the media bridge: CPU, memory, latency per call (VoiceBench.cs)");
        return 2;
}
