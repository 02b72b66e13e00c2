using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Npgsql;
using Switchboard.Platform.Database;

namespace Switchboard.Dashboard;

/// <summary>
/// Live events across nodes on PostgreSQL. Publishing (one batch per unit of work, awaited after its commit) increments the
/// tenant's row of <c>live_event_sequences</c> and calls <c>pg_notify('switchboard_live', …)</c> in the same implicit
/// transaction: the row lock orders concurrent publishers of a tenant on any node, and PostgreSQL delivers notifications
/// in commit order, so every node sees each tenant's ids in increasing order with no gaps. Every node, the publisher
/// included, receives events only through its one long-lived <c>LISTEN</c> connection (Npgsql <c>Notification</c> +
/// <c>WaitAsync</c>), reconnected with exponential backoff (1 s to 30 s); a reconnect resets the hub (events may have been
/// missed). A <c>NOTIFY</c> payload must stay under 8000 bytes (PostgreSQL docs, NOTIFY): an event's JSON is cut into
/// parts of at most <see cref="PartBytes"/> UTF-8 bytes, sent in one transaction and reassembled here.
/// Payload: <c>{tenantId}:{seq}:{part}:{parts}:{type}:{callId}\n{json part}</c>. An access-revoked signal goes on the same
/// channel, unnumbered, as <see cref="AccessRevocation.ToPayload"/> (<c>revoke:…</c>, ids only) and ends streams instead of
/// reaching them.
/// </summary>
internal sealed class PostgresLiveEventTransport : BackgroundService, ILiveEventTransport
{
    public const string ChannelName = "switchboard_live";
    internal const int PartBytes = 7800;

    /// <summary>
    /// Numbers and sends one tenant's events of a batch in one statement: the tenant's row is advanced by the number of
    /// events (<c>$3</c>), and every payload part (<c>$2</c>, in order) is sent with its event's sequence number, the row's new
    /// value less the events after it (<c>$4</c>: each part's event, 1 … <c>$3</c>). Issue 13: one statement per event was
    /// 1.5 statements per Vapi message in the PostgreSQL ingest bench. The parts are sent in array order (the function scan's
    /// order, as before; with an ORDER BY, PostgreSQL could call <c>pg_notify</c> before sorting).
    /// </summary>
    private const string NotifySql = """
        WITH s AS (
            INSERT INTO live_event_sequences ("TenantId", "LastSeq") VALUES ($1, $3)
            ON CONFLICT ("TenantId") DO UPDATE SET "LastSeq" = live_event_sequences."LastSeq" + $3
            RETURNING "LastSeq")
        SELECT pg_notify('switchboard_live', $1::text || ':' || (s."LastSeq" - $3 + p.n) || ':' || p.part)
        FROM s, unnest($2::text[], $4::int[]) AS p(part, n)
        """;

    private readonly LiveEventHub hub;
    private readonly ILogger<PostgresLiveEventTransport> logger;
    private readonly NpgsqlDataSource? dataSource;
    private readonly string listenConnectionString = "";
    private readonly Channel<LiveEventDraft> outgoing = Channel.CreateUnbounded<LiveEventDraft>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<(Guid, long), string?[]> partial = [];
    private readonly TaskCompletionSource listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock groupGate = new();
    private readonly List<GroupWaiter> groupQueue = [];
    private bool groupSending;
    private int groupInFlight;
    private long groupBatches;

    public PostgresLiveEventTransport(DatabaseExtensions.EffectiveConnection connection, LiveEventHub hub, ILogger<PostgresLiveEventTransport> logger)
    {
        this.hub = hub;
        this.logger = logger;
        if (!connection.IsPostgres)
        {
            return; // registered on every host; idle on SQLite
        }
        var publishing = new NpgsqlConnectionStringBuilder(connection.Value);
        if (string.IsNullOrEmpty(publishing.ApplicationName))
        {
            publishing.ApplicationName = PublisherApplicationName; // its sessions told apart from the webhook path's in pg_stat_activity
        }
        dataSource = NpgsqlDataSource.Create(publishing.ConnectionString);
        listenConnectionString = new NpgsqlConnectionStringBuilder(connection.Value)
        {
            Pooling = false,
            KeepAlive = 15,
            MaxAutoPrepare = 0,
            ApplicationName = "switchboard-live-listener",
        }.ConnectionString;
    }

    /// <summary>The <c>application_name</c> of the publishing pool's sessions, unless the connection string sets one.</summary>
    internal const string PublisherApplicationName = "switchboard-live-publisher";

    /// <summary>Connections of the publishing pool <see cref="WarmUpAsync"/> opens: the group publish's one and the background sender's.</summary>
    internal const int WarmConnections = 2;

    public void Publish(LiveEventDraft draft) => outgoing.Writer.TryWrite(draft);

    /// <summary>
    /// Before the node is ready (<see cref="Vapi.VapiWarmup"/>; issue 13: on PostgreSQL the first one to two seconds after a
    /// start kept a tail of 0.3–1.6 s when the rest of the webhook path was warm). This transport publishes through its own
    /// pool, which nothing opened before the first real publish: that publish paid for the pool's first connection (a TCP
    /// connection, the start-up exchange, and Npgsql loading the server's type catalog for a new data source) and the JIT of
    /// this path, while every webhook answered meanwhile queued behind it (group publishing). So: opens
    /// <see cref="WarmConnections"/> connections of the pool at once, reads the sequence table through each and returns them;
    /// then runs the publish statement for <paramref name="draft"/> on <paramref name="inTransaction"/>, inside the transaction
    /// the caller has open and rolls back: the sequence row it takes is undone, and PostgreSQL sends no notification of a
    /// transaction that does not commit (PostgreSQL docs, NOTIFY). Nothing is published. No-op on SQLite.
    /// </summary>
    internal async Task WarmUpAsync(NpgsqlConnection inTransaction, LiveEventDraft draft, CancellationToken ct)
    {
        if (dataSource is null)
        {
            return;
        }
        await Task.WhenAll(Enumerable.Range(0, WarmConnections).Select(async _ =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var read = new NpgsqlCommand("SELECT \"LastSeq\" FROM live_event_sequences WHERE \"TenantId\" = $1", connection);
            read.Parameters.Add(new NpgsqlParameter { Value = draft.TenantId });
            await read.ExecuteScalarAsync(ct);
        }));
        await NotifyAsync([draft], ct, inTransaction);
    }

    /// <summary>Closes the publishing pool's idle connections (tests: a pool as a fresh start finds it).</summary>
    internal void ClearPool() => dataSource?.Clear();

    /// <summary>
    /// Publishes a committed unit of work's events and returns once they are numbered and sent. Concurrent callers share
    /// transactions (group publishing): the first caller leads and sends what is waiting, at most
    /// <see cref="GroupMaxDrafts"/> events in one batch; callers that arrive meanwhile wait, and the first of them leads
    /// the next batch. Why: every <c>NOTIFY</c> transaction takes one lock for the whole cluster at its commit and holds it
    /// through the WAL flush (PostgreSQL, src/backend/commands/async.c, <c>PreCommit_Notify</c>), and each also updates its
    /// tenant's <c>live_event_sequences</c> row, so one transaction per unit of work caps the whole installation at one
    /// flush per publish (~620 publishes/s from 16 clients on this project's test machine, pgbench, where the same
    /// statements grouped or committed without the flush wait went 7,000+/s) and queues every webhook's answer behind it.
    /// Alone, a caller sends at once as before. Never throws: on failure the events go to the background sender.
    /// </summary>
    public async Task PublishAsync(IReadOnlyList<LiveEventDraft> drafts)
    {
        if (drafts.Count == 0)
        {
            return;
        }
        var me = new GroupWaiter(drafts);
        bool leads;
        lock (groupGate)
        {
            groupQueue.Add(me);
            leads = !groupSending;
            groupSending = true;
        }
        if (!leads && !await me.Turn.Task)
        {
            return; // a leader sent these events
        }
        List<GroupWaiter> batch;
        lock (groupGate)
        {
            var count = 0;
            var take = 0;
            while (take < groupQueue.Count && (take == 0 || count + groupQueue[take].Drafts.Count <= GroupMaxDrafts))
            {
                count += groupQueue[take++].Drafts.Count;
            }
            batch = groupQueue.GetRange(0, take);
            groupQueue.RemoveRange(0, take);
            groupInFlight = take;
        }
        var all = batch.Count == 1 ? batch[0].Drafts : batch.SelectMany(w => w.Drafts).ToList();
        try
        {
            Interlocked.Increment(ref groupBatches);
            // Not the request's token: the changes are committed, their events must follow even if the client left.
            await NotifyAsync(all, CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            logger.LogWarning(e, "Publishing {Count} live events failed; retrying in the background", all.Count);
            foreach (var draft in all)
            {
                Publish(draft);
            }
        }
        finally
        {
            GroupWaiter? next = null;
            lock (groupGate)
            {
                groupInFlight = 0;
                if (groupQueue.Count > 0)
                {
                    next = groupQueue[0];
                }
                else
                {
                    groupSending = false;
                }
            }
            foreach (var waiter in batch)
            {
                waiter.Turn.TrySetResult(false);
            }
            next?.Turn.TrySetResult(true);
        }
    }

    /// <summary>Most events one group publish sends in one transaction (one NOTIFY payload part each at least).</summary>
    internal const int GroupMaxDrafts = 256;

    /// <summary>Callers of <see cref="PublishAsync"/> whose events are being sent or wait for a leader (tests).</summary>
    internal int GroupPending
    {
        get
        {
            lock (groupGate)
            {
                return groupQueue.Count + groupInFlight;
            }
        }
    }

    /// <summary>Transactions <see cref="PublishAsync"/> has sent (tests: concurrent publishers share them).</summary>
    internal long GroupBatches => Interlocked.Read(ref groupBatches);

    /// <summary>A caller of <see cref="PublishAsync"/>: its events, and its turn (true: lead the next batch; false: sent).</summary>
    private sealed class GroupWaiter(IReadOnlyList<LiveEventDraft> drafts)
    {
        public IReadOnlyList<LiveEventDraft> Drafts { get; } = drafts;

        public TaskCompletionSource<bool> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<long?> LatestAsync(Guid tenantId, CancellationToken ct)
    {
        try
        {
            await using var cmd = dataSource!.CreateCommand("SELECT \"LastSeq\" FROM live_event_sequences WHERE \"TenantId\" = $1");
            cmd.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            return await cmd.ExecuteScalarAsync(ct) is long n ? n : 0;
        }
        catch (NpgsqlException e)
        {
            logger.LogWarning(e, "Reading the live-event sequence failed");
            return null;
        }
    }

    /// <summary>
    /// Ends this node's streams of <paramref name="revocation"/> at once, then sends the signal to every node with
    /// <c>pg_notify</c> (its own one statement: nothing to number, and it must not wait behind a batch of events). This node
    /// hears it too and finds nothing left to end.
    /// </summary>
    public async Task RevokeAccessAsync(AccessRevocation revocation)
    {
        hub.Revoke(revocation);
        if (dataSource is null)
        {
            return;
        }
        try
        {
            await using var cmd = dataSource.CreateCommand("SELECT pg_notify('switchboard_live', $1)");
            cmd.Parameters.Add(new NpgsqlParameter { Value = revocation.ToPayload() });
            await cmd.ExecuteNonQueryAsync(CancellationToken.None); // not the request's: the revocation is committed
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            logger.LogWarning(e, "Sending the access-revoked signal {Kind} failed; other nodes end those streams at their next ping", revocation.Kind);
        }
    }

    /// <summary>Starts listening before the host serves, so a subscriber never misses events published after it connected.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        if (dataSource is null)
        {
            return;
        }
        await Task.WhenAny(listening.Task, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => dataSource is null ? Task.CompletedTask :
        Task.WhenAll(Task.Run(() => ListenAsync(stoppingToken), stoppingToken), Task.Run(() => SendAsync(stoppingToken), stoppingToken));

    public override void Dispose()
    {
        base.Dispose();
        dataSource?.Dispose();
    }

    private async Task SendAsync(CancellationToken ct)
    {
        var batch = new List<LiveEventDraft>(256);
        try
        {
            while (await outgoing.Reader.WaitToReadAsync(ct))
            {
                while (batch.Count < 256 && outgoing.Reader.TryRead(out var draft))
                {
                    batch.Add(draft);
                }
                try
                {
                    await NotifyAsync(batch, ct);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException && !ct.IsCancellationRequested)
                {
                    // One bad event (its tenant just erased) must not sink the others: retry them one by one.
                    logger.LogWarning(e, "Publishing {Count} live events failed; retrying one by one", batch.Count);
                    foreach (var draft in batch)
                    {
                        try
                        {
                            await NotifyAsync([draft], ct);
                        }
                        catch (Exception one) when (one is NpgsqlException or InvalidOperationException && !ct.IsCancellationRequested)
                        {
                            logger.LogWarning(one, "Live event {Type} of tenant {TenantId} was dropped", draft.Type, draft.TenantId);
                        }
                    }
                }
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Numbers and sends <paramref name="drafts"/> in one batch, one statement per tenant (<see cref="NotifySql"/>; a tenant's
    /// events keep their order): through the pool, or on <paramref name="connection"/> (in its transaction).
    /// </summary>
    private async Task NotifyAsync(IReadOnlyList<LiveEventDraft> drafts, CancellationToken ct, NpgsqlConnection? connection = null)
    {
        await using var batch = connection is null ? dataSource!.CreateBatch() : connection.CreateBatch();
        foreach (var tenant in drafts.GroupBy(d => d.TenantId))
        {
            var parts = new List<string>();
            var events = new List<int>();
            var n = 0;
            foreach (var draft in tenant)
            {
                n++;
                foreach (var part in Parts(draft))
                {
                    parts.Add(part);
                    events.Add(n);
                }
            }
            var command = new NpgsqlBatchCommand(NotifySql);
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.Key });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. parts] });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = n });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. events] });
            batch.BatchCommands.Add(command);
        }
        // A batch without a transaction runs as one implicit transaction: all its notifications are sent at its commit (on a
        // connection with a transaction open, at that transaction's commit).
        await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The per-part payload after <c>{tenantId}:{seq}:</c> (added in SQL): <c>{part}:{parts}:{type}:{callId}\n{json}</c>.</summary>
    internal static string[] Parts(LiveEventDraft draft)
    {
        var chunks = Split(draft.DataJson, PartBytes);
        var callId = draft.CallId?.ToString("N") ?? "";
        var parts = new string[chunks.Count];
        for (var i = 0; i < chunks.Count; i++)
        {
            parts[i] = string.Create(CultureInfo.InvariantCulture, $"{i}:{chunks.Count}:{draft.Type}:{callId}\n{chunks[i]}");
        }
        return parts;
    }

    /// <summary>Cuts text into pieces of at most <paramref name="maxBytes"/> UTF-8 bytes, never inside a surrogate pair.</summary>
    internal static List<string> Split(string text, int maxBytes)
    {
        var chunks = new List<string>();
        var start = 0;
        var bytes = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length ? 4 : text[i] < 0x80 ? 1 : text[i] < 0x800 ? 2 : 3;
            if (bytes + width > maxBytes)
            {
                chunks.Add(text[start..i]);
                start = i;
                bytes = 0;
            }
            bytes += width;
            if (width == 4)
            {
                i++;
            }
        }
        chunks.Add(text[start..]);
        return chunks;
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        var backoff = TimeSpan.FromSeconds(1);
        var connectedBefore = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(listenConnectionString);
                await connection.OpenAsync(ct);
                connection.Notification += (_, e) => OnNotification(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {ChannelName}", connection))
                {
                    await listen.ExecuteNonQueryAsync(ct);
                }
                if (connectedBefore)
                {
                    hub.ResetAll();
                    logger.LogInformation("Live events listener reconnected");
                }
                connectedBefore = true;
                backoff = TimeSpan.FromSeconds(1);
                listening.TrySetResult();
                while (true)
                {
                    await connection.WaitAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException or TimeoutException)
            {
                logger.LogWarning(e, "Live events listener lost its connection; retrying in {Seconds} s", backoff.TotalSeconds);
                hub.ResetAll();
                try
                {
                    await Task.Delay(backoff, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromSeconds(Math.Min(30, backoff.TotalSeconds * 2));
            }
        }
    }

    /// <summary>Parses one notification; delivers the event once all its parts are in, or ends the streams an access-revoked signal names.</summary>
    private void OnNotification(string payload)
    {
        if (payload.StartsWith(AccessRevocation.PayloadPrefix, StringComparison.Ordinal))
        {
            if (AccessRevocation.TryParse(payload, out var revocation))
            {
                hub.Revoke(revocation);
            }
            else
            {
                logger.LogWarning("Ignored a malformed access-revoked notification");
            }
            return;
        }
        var newline = payload.IndexOf('\n', StringComparison.Ordinal);
        var header = newline < 0 ? [] : payload[..newline].Split(':');
        if (header.Length != 6 || !Guid.TryParse(header[0], out var tenantId) || !long.TryParse(header[1], CultureInfo.InvariantCulture, out var seq)
            || !int.TryParse(header[2], CultureInfo.InvariantCulture, out var part) || !int.TryParse(header[3], CultureInfo.InvariantCulture, out var count)
            || count < 1 || part < 0 || part >= count)
        {
            logger.LogWarning("Ignored a malformed live-event notification");
            return;
        }
        Guid? callId = Guid.TryParse(header[5], out var c) ? c : null;
        var body = payload[(newline + 1)..];
        if (count == 1)
        {
            hub.Deliver(new LiveEvent(tenantId, seq, header[4], body, callId));
            return;
        }
        if (partial.Count > 1000)
        {
            partial.Clear();
        }
        if (!partial.TryGetValue((tenantId, seq), out var parts))
        {
            partial[(tenantId, seq)] = parts = new string?[count];
        }
        parts[part] = body;
        if (parts.All(p => p is not null))
        {
            partial.Remove((tenantId, seq));
            hub.Deliver(new LiveEvent(tenantId, seq, header[4], string.Concat(parts), callId));
        }
    }
}
