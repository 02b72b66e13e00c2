using System.Threading.Channels;
using Switchboard.Calls;
using Switchboard.Platform.Database;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// Writes native calls' transcript turns while the calls run, off the audio path: bridges post turns on one channel,
/// and this worker stores them in batches (one transaction for the turns of every call gathered over 100 ms, up to 500). If a batch fails, its
/// turns are retried one by one, so one bad turn never loses another call's. <see cref="FlushAsync"/> lets a call
/// wait until its own turns are stored before its post-call pipeline reads them.
/// </summary>
internal sealed class TranscriptSink(IServiceScopeFactory scopes, SqliteWriteGate writes, ILogger<TranscriptSink> logger) : BackgroundService, ITranscriptWriter
{
    private static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(100);
    private readonly Channel<Item> queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });

    private readonly record struct Item(TranscriptTurn? Turn, TaskCompletionSource? Flushed);

    /// <summary>Queues a turn for storage.</summary>
    public void Add(TranscriptTurn turn) => queue.Writer.TryWrite(new Item(turn, null));

    /// <summary>Completes once every turn queued before it is stored (or given up on).</summary>
    public Task FlushAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!queue.Writer.TryWrite(new Item(null, done)))
        {
            done.TrySetResult();
        }
        return done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Item>(200);
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                // Turns of many calls arrive a few at a time: wait a moment so one transaction stores them together.
                await Task.Delay(BatchWindow, stoppingToken);
                while (batch.Count < 500 && queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                await WriteAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Shutting down: store what is left without the stopping token, then release every waiter.
            while (queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }
            await WriteAsync(batch, CancellationToken.None);
        }
    }

    private async Task WriteAsync(List<Item> batch, CancellationToken ct)
    {
        var turns = batch.Where(i => i.Turn is not null).Select(i => i.Turn!).ToList();
        if (turns.Count > 0 && !await TrySaveAsync(turns, ct))
        {
            foreach (var turn in turns)
            {
                if (!await TrySaveAsync([turn], ct))
                {
                    logger.LogError("Transcript turn {Seq} of call {CallId} could not be stored", turn.Seq, turn.CallId);
                }
            }
        }
        foreach (var item in batch)
        {
            item.Flushed?.TrySetResult();
        }
    }

    private async Task<bool> TrySaveAsync(List<TranscriptTurn> turns, CancellationToken ct)
    {
        try
        {
            await SqliteBusyRetry.RunAsync(async () =>
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
                db.TranscriptTurns.AddRange(turns);
                using var turn = await writes.EnterAsync(db, ct);
                await db.SaveChangesAsync(ct);
            }, ct);
            return true;
        }
        catch (Exception e) when (e is Microsoft.EntityFrameworkCore.DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
        {
            logger.LogWarning(e, "Storing {Count} transcript turns failed", turns.Count);
            return false;
        }
    }
}
