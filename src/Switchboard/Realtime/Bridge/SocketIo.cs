using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Channels;

namespace Switchboard.Realtime.Bridge;

/// <summary>What a queued frame is, for the send loop's bookkeeping.</summary>
internal enum FrameKind : byte
{
    Control,

    /// <summary>Audio towards Twilio; <see cref="OutFrame.ProviderTimestamp"/> is when its provider delta arrived.</summary>
    Media,

    /// <summary>The first audio frame of an assistant item towards Twilio.</summary>
    FirstMedia,
}

/// <summary>
/// One text frame waiting to be sent: a buffer rented from <see cref="ArrayPool{T}.Shared"/> (returned by the send loop
/// once sent or dropped), its length, and for audio the <see cref="Stopwatch"/> timestamp of the provider delta it came from.
/// </summary>
internal readonly record struct OutFrame(byte[] Buffer, int Length, FrameKind Kind = FrameKind.Control, long ProviderTimestamp = 0);

/// <summary>Told by a <see cref="SocketSender"/> when an audio frame has been handed to the socket.</summary>
internal interface IFrameObserver
{
    /// <param name="frame">The frame just sent.</param>
    /// <param name="sentTimestamp"><see cref="Stopwatch"/> timestamp after <c>SendAsync</c> completed.</param>
    void OnFrameSent(in OutFrame frame, long sentTimestamp);
}

/// <summary>
/// The one send loop of a WebSocket: producers (the receive loops, tools, the ticker) enqueue complete text frames
/// on a bounded <see cref="Channel{T}"/>; a single consumer writes them in order, so frames never interleave and no
/// producer waits on the network (an idle loop runs on the producer's thread until the socket would block). A full queue means the peer is stuck: <see cref="TryEnqueue"/> returns false and
/// the call is ended by its owner, never blocking another call.
/// </summary>
internal sealed class SocketSender
{
    private readonly Channel<OutFrame> queue;
    private readonly IFrameObserver? observer;

    public SocketSender(int capacity, IFrameObserver? observer)
    {
        queue = Channel.CreateBounded<OutFrame>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            // An idle send loop resumes on the producer's thread: a frame is written without a thread-pool hop. When the
            // socket cannot take it at once, SendAsync goes asynchronous and the producer is released right there.
            AllowSynchronousContinuations = true,
        });
        this.observer = observer;
    }

    /// <summary>Queues a frame; false (and the buffer returned) when the queue is full or completed.</summary>
    public bool TryEnqueue(in OutFrame frame)
    {
        if (queue.Writer.TryWrite(frame))
        {
            return true;
        }
        ArrayPool<byte>.Shared.Return(frame.Buffer);
        return false;
    }

    /// <summary>No more frames: the loop sends what is queued, then ends.</summary>
    public void Complete() => queue.Writer.TryComplete();

    /// <summary>Sends queued frames until <see cref="Complete"/> or a socket error; always returns every buffer to the pool.</summary>
    public async Task RunAsync(WebSocket socket, CancellationToken ct)
    {
        var reader = queue.Reader;
        try
        {
            // No token here: an uncancellable wait reuses the channel's one waiter instead of allocating per frame.
            // The owner ends the loop with Complete(); a dead socket ends it through SendAsync.
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    try
                    {
                        await socket.SendAsync(new ReadOnlyMemory<byte>(frame.Buffer, 0, frame.Length), WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
                        if (frame.Kind != FrameKind.Control)
                        {
                            observer?.OnFrameSent(frame, Stopwatch.GetTimestamp());
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(frame.Buffer);
                    }
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // The socket is gone: the owner notices through its receive loop.
        }
        finally
        {
            queue.Writer.TryComplete();
            while (reader.TryRead(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Buffer);
            }
        }
    }
}

/// <summary>
/// Receives whole text messages from a WebSocket into one pooled buffer that grows (by renting a bigger one) up to a
/// limit, and shrinks back before the next message. The returned memory is valid until the next call. Not thread-safe:
/// one per receive loop.
/// </summary>
internal sealed class MessageReader(int initialBytes, int maxBytes) : IDisposable
{
    private byte[] buffer = ArrayPool<byte>.Shared.Rent(initialBytes);

    /// <summary>The next message, or an outcome saying why there is none.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<(ReceiveOutcome Outcome, ReadOnlyMemory<byte> Message)> ReceiveAsync(WebSocket socket, CancellationToken ct)
    {
        if (buffer.Length > initialBytes)
        {
            // A large message grew the buffer: give it back, so an idle call holds only the small one.
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(initialBytes);
        }
        var count = 0;
        while (true)
        {
            if (count == buffer.Length)
            {
                if (buffer.Length >= maxBytes)
                {
                    return (ReceiveOutcome.TooBig, default);
                }
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes, buffer.Length * 2));
                buffer.AsSpan(0, count).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }
            var result = await socket.ReceiveAsync(buffer.AsMemory(count), ct).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (ReceiveOutcome.Closed, default);
            }
            count += result.Count;
            if (result.EndOfMessage)
            {
                return (result.MessageType == WebSocketMessageType.Binary ? ReceiveOutcome.Binary : ReceiveOutcome.Text, buffer.AsMemory(0, count));
            }
        }
    }

    public void Dispose()
    {
        var b = Interlocked.Exchange(ref buffer, []);
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}

internal enum ReceiveOutcome
{
    Text,
    Binary,
    Closed,
    TooBig,
}
