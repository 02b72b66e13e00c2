using System.Net;
using System.Net.Sockets;

namespace Switchboard.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/Switchboard.Bench -- relay-floor [--port 5050] [--upstream 127.0.0.1:7070]</c>
/// <para>
/// The floor of a bridge that forwards every frame as it arrives (issue 16: "CPU per call ≤ 1/5 of the official sample's"):
/// a TCP relay that does nothing but copy bytes, each accepted connection paired with one to <c>--upstream</c>, one
/// receive and one send per chunk, with the runtime's socket engine (epoll and the thread pool) as every .NET bridge uses
/// it. bench/bridgebench.sh's <c>relay</c> mode puts it between ../shared/bench/bridgebench's simulated callers and its mock
/// provider: the callers connect to <c>ws://127.0.0.1:5050/v1/realtime</c>, so the WebSocket handshake passes through to the
/// mock unchanged and each call carries the harness's traffic (50 caller frames a second in, the mock's 100 ms deltas out)
/// through two sockets, as a bridge's does, without any WebSocket framing, JSON, base64, marks or transcripts. Its CPU per
/// call is a lower bound for any bridge built this way; set beside the sample's in the same session, it says how far a
/// per-frame design can go. Prints <c>RELAY pid=…</c> when listening; stops when its standard input closes.
/// </para>
/// <para>
/// <c>--tick-ms N</c> relays the other way: no receive waits on a socket; one thread wakes every N ms and, for every pair,
/// reads what each socket holds (non-blocking, until a read comes back short) and sends it on. Frames wait up to N ms, and
/// the syscalls per call fall with the frames that arrive between two ticks: the floor of a time-batched design.
/// </para>
/// </summary>
internal static class RelayFloorBench
{
    /// <summary>Bytes read at once per direction (a caller frame is ~330 bytes, a mock delta ~1.1 KB, each one WebSocket frame).</summary>
    private const int BufferBytes = 4096;

    public static async Task<int> RunAsync(string[] args)
    {
        var port = 5050;
        var upstream = new IPEndPoint(IPAddress.Loopback, 7070);
        var tickMs = 0;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--port": port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--upstream": upstream = IPEndPoint.Parse(args[++i]); break;
                case "--tick-ms": tickMs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine($"relay-floor: unknown argument {args[i]}");
                    return 2;
            }
        }
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(1024);
        using var stop = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            await Console.In.ReadToEndAsync();
            await stop.CancelAsync();
        });
        Console.WriteLine($"RELAY pid={Environment.ProcessId} port={port} upstream={upstream} tick-ms={tickMs}");
        var pairs = 0;
        var ticked = new List<(Socket Caller, Socket Provider)>();
        var sweeper = tickMs > 0 ? Task.Factory.StartNew(() => Sweep(ticked, tickMs, stop.Token), TaskCreationOptions.LongRunning) : Task.CompletedTask;
        try
        {
            while (true)
            {
                var caller = await listener.AcceptAsync(stop.Token);
                pairs++;
                if (tickMs == 0)
                {
                    _ = RelayAsync(caller, upstream, stop.Token);
                    continue;
                }
                var provider = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await provider.ConnectAsync(upstream, stop.Token);
                caller.NoDelay = true;
                caller.Blocking = false;
                provider.Blocking = false;
                lock (ticked)
                {
                    ticked.Add((caller, provider));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        await sweeper;
        Console.WriteLine($"relay-floor: {pairs} connections relayed");
        return 0;
    }

    /// <summary>Every <paramref name="tickMs"/>: for each pair, moves what each side holds to the other (non-blocking sockets).</summary>
    private static void Sweep(List<(Socket Caller, Socket Provider)> pairs, int tickMs, CancellationToken ct)
    {
        var buffer = new byte[BufferBytes * 4];
        var snapshot = new List<(Socket Caller, Socket Provider)>();
        var next = Environment.TickCount64;
        while (!ct.IsCancellationRequested)
        {
            next += tickMs;
            var wait = next - Environment.TickCount64;
            if (wait > 0)
            {
                Thread.Sleep((int)wait);
            }
            lock (pairs)
            {
                snapshot.Clear();
                snapshot.AddRange(pairs);
            }
            foreach (var (caller, provider) in snapshot)
            {
                Move(caller, provider, buffer);
                Move(provider, caller, buffer);
            }
        }
    }

    private static void Move(Socket from, Socket to, byte[] buffer)
    {
        while (true)
        {
            var n = from.Receive(buffer, 0, buffer.Length, SocketFlags.None, out var error);
            if (error != SocketError.Success || n <= 0)
            {
                return; // WouldBlock: nothing held; anything else: the pair is done (the harness closes both sides)
            }
            var sent = 0;
            while (sent < n)
            {
                var m = to.Send(buffer, sent, n - sent, SocketFlags.None, out error);
                if (error == SocketError.WouldBlock)
                {
                    Thread.Yield();
                    continue;
                }
                if (error != SocketError.Success)
                {
                    return;
                }
                sent += m;
            }
            if (n < buffer.Length)
            {
                return; // a short read: the socket held no more
            }
        }
    }

    private static async Task RelayAsync(Socket caller, IPEndPoint upstream, CancellationToken ct)
    {
        using (caller)
        using (var provider = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                caller.NoDelay = true;
                provider.NoDelay = true;
                await provider.ConnectAsync(upstream, ct);
                await Task.WhenAny(PumpAsync(caller, provider, ct), PumpAsync(provider, caller, ct));
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Copies what <paramref name="from"/> receives to <paramref name="to"/> until either side closes.</summary>
    private static async Task PumpAsync(Socket from, Socket to, CancellationToken ct)
    {
        var buffer = new byte[BufferBytes];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
            {
                var sent = 0;
                while (sent < n)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, ct);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        try
        {
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }
}
