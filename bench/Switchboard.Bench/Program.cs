// Benchmarks are separate programs: `dotnet run -c Release --project bench/Switchboard.Bench -- <mode> [options]`.
if (args.Length > 0 && args[0] == "voice")
{
    return await Switchboard.Bench.VoiceBench.RunAsync(args[1..]); // native voice bridge under N concurrent calls (VoiceBench.cs)
}
Console.WriteLine("bench");
return 0;
