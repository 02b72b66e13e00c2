namespace Switchboard.Outbox;

/// <summary>
/// Reads, for all the messages of one kind in a claimed batch, what their handler would otherwise read one message at a
/// time (issue 13: a webhook delivery's own query was about 2 % of the server's samples under <c>bench ingest</c>).
/// Registered under the kind (<see cref="OutboxHandlerRegistration.AddOutboxBatchReader{TReader}"/>); runs in a scope of its
/// own with no tenant set, so it filters by each message's <see cref="OutboxMessage.TenantId"/> itself.
/// </summary>
internal interface IOutboxBatchReader
{
    /// <summary>
    /// Reads for <paramref name="messages"/> (two or more claimed rows of the reader's kind) and returns, by
    /// <see cref="OutboxMessage.Id"/>, the value to hand each message's handler through <see cref="OutboxBatchRead"/>.
    /// A message left out is read by its handler as before; the values must be untracked (the handler attaches them).
    /// </summary>
    Task<IReadOnlyDictionary<Guid, object>> ReadAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken ct);
}

/// <summary>
/// Scoped: what the batch read (<see cref="IOutboxBatchReader"/>) found for the one message this scope runs, set by
/// <see cref="OutboxProcessor"/> before the handler is built. Null when there was no batch read, it left the message
/// out, or it is too old to trust (<see cref="OutboxProcessor.BatchReadMaxAge"/>): the handler then reads for itself.
/// </summary>
internal sealed class OutboxBatchRead
{
    private object? value;

    /// <summary>Sets the value for this scope's message (the processor).</summary>
    internal void Set(object? read) => value = read;

    /// <summary>Returns the value when it is a <typeparamref name="T"/> (null otherwise) and forgets it: a value is used once.</summary>
    public T? Take<T>() where T : class
    {
        var read = value as T;
        value = null;
        return read;
    }
}
