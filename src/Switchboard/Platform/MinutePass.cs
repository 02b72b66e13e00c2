using Microsoft.EntityFrameworkCore;

namespace Switchboard.Platform;

/// <summary>
/// A background pass run once a minute while <see cref="Enabled"/> (checked at start): <see cref="RunAsync"/> returns how many
/// things it did, logged at Information when more than none; a database failure (or an invalid operation on a context) is
/// logged as a warning and the pass runs again at the next tick. Shared by the workers that close conversations left open
/// (web chats gone idle, Vapi calls whose report never came).
/// </summary>
internal abstract class MinutePass(ILogger logger) : BackgroundService
{
    /// <summary>Whether the pass runs at all (tests turn it off and drive the pass themselves).</summary>
    protected abstract bool Enabled { get; }

    /// <summary>What the pass does, for the log: "Closed {Count} idle web chats" takes the count.</summary>
    protected abstract string DoneMessage { get; }

    /// <summary>One pass; returns how many things it did.</summary>
    protected abstract Task<int> RunAsync(CancellationToken ct);

    /// <inheritdoc />
    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var done = await RunAsync(stoppingToken);
                if (done > 0)
                {
#pragma warning disable CA2254 // the message template is each pass's own constant
                    logger.LogInformation(DoneMessage, done);
#pragma warning restore CA2254
                }
            }
            catch (Exception e) when (e is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
            {
                logger.LogWarning(e, "{Pass} failed; retrying in a minute", GetType().Name);
            }
        }
    }
}
