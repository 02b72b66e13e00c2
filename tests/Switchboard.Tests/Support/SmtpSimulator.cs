using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Tests.Support;

/// <summary>
/// A tiny SMTP server on 127.0.0.1 (any port) speaking the RFC 5321 dialogue a submission client needs: greeting,
/// EHLO (advertising AUTH PLAIN), AUTH PLAIN, MAIL FROM, RCPT TO, DATA (dot-terminated, dot-unstuffed), RSET, NOOP,
/// QUIT. No TLS: the host is configured with <c>Security=None</c>. Recipients in <see cref="RefusedRecipients"/> get
/// 550; while <see cref="TransientFailures"/> is positive, MAIL FROM gets 451 (and the counter goes down).
/// </summary>
internal sealed class SmtpSimulator : IAsyncDisposable
{
    private readonly TcpListener listener;
    private readonly CancellationTokenSource stop = new();

    private SmtpSimulator(TcpListener listener)
    {
        this.listener = listener;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _ = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>Messages accepted (250 after DATA), in order.</summary>
    public ConcurrentQueue<SmtpDelivery> Delivered { get; } = new();

    public ConcurrentDictionary<string, bool> RefusedRecipients { get; } = new(StringComparer.OrdinalIgnoreCase);

    private int transientFailures;

    public int TransientFailures
    {
        get => Volatile.Read(ref transientFailures);
        set => Volatile.Write(ref transientFailures, value);
    }

    public static SmtpSimulator Start()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new SmtpSimulator(listener);
    }

    private async Task AcceptLoopAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(() => SessionAsync(client));
        }
    }

    private async Task SessionAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.UTF8);
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
        string? from = null;
        string? authUser = null;
        var to = new List<string>();
        try
        {
            await writer.WriteLineAsync("220 smtp.simulator ESMTP ready");
            while (await reader.ReadLineAsync(stop.Token) is { } line)
            {
                var verb = (line.Length >= 4 ? line[..4] : line).ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-smtp.simulator greets you");
                        await writer.WriteLineAsync("250-AUTH PLAIN");
                        await writer.WriteLineAsync("250 SIZE 10485760");
                        break;
                    case "HELO":
                        await writer.WriteLineAsync("250 smtp.simulator");
                        break;
                    case "AUTH":
                        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        var initial = parts.Length > 2 ? parts[2] : null;
                        if (initial is null)
                        {
                            await writer.WriteLineAsync("334 ");
                            initial = await reader.ReadLineAsync(stop.Token);
                        }
                        var fields = Encoding.UTF8.GetString(Convert.FromBase64String(initial ?? "")).Split('\0');
                        authUser = fields.Length == 3 ? fields[1] + ":" + fields[2] : null;
                        await writer.WriteLineAsync(authUser is null ? "535 5.7.8 Authentication credentials invalid" : "235 2.7.0 Authentication successful");
                        break;
                    case "MAIL":
                        if (TransientFailures > 0)
                        {
                            Interlocked.Decrement(ref transientFailures);
                            await writer.WriteLineAsync("451 4.3.0 Try again later");
                            break;
                        }
                        from = Address(line);
                        to.Clear();
                        await writer.WriteLineAsync("250 2.1.0 OK");
                        break;
                    case "RCPT":
                        var rcpt = Address(line);
                        if (RefusedRecipients.ContainsKey(rcpt))
                        {
                            await writer.WriteLineAsync("550 5.1.1 No such mailbox");
                            break;
                        }
                        to.Add(rcpt);
                        await writer.WriteLineAsync("250 2.1.5 OK");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(stop.Token) is { } d && d != ".")
                        {
                            data.Append(d.StartsWith("..", StringComparison.Ordinal) ? d[1..] : d).Append("\r\n");
                        }
                        Delivered.Enqueue(new SmtpDelivery(from ?? "", [.. to], data.ToString(), authUser));
                        await writer.WriteLineAsync("250 2.0.0 Queued");
                        break;
                    case "RSET":
                        from = null;
                        to.Clear();
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "NOOP":
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 2.0.0 Bye");
                        return;
                    default:
                        await writer.WriteLineAsync("502 5.5.2 Command not recognized");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the simulator stops.
        }
    }

    private static string Address(string line)
    {
        var start = line.IndexOf('<');
        var end = line.IndexOf('>', start + 1);
        return start >= 0 && end > start ? line[(start + 1)..end] : "";
    }

    public ValueTask DisposeAsync()
    {
        stop.Cancel();
        listener.Stop();
        return ValueTask.CompletedTask;
    }
}

/// <summary>One accepted message: envelope sender and recipients, the raw DATA (RFC 5322), and the AUTH identity (<c>user:password</c>).</summary>
internal sealed record SmtpDelivery(string From, string[] To, string Data, string? AuthUser)
{
    /// <summary>The message parsed by MimeKit (transfer encodings undone).</summary>
    public MimeKit.MimeMessage Parse() => MimeKit.MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(Data)));
}
