using System.Diagnostics;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// One model response at a time (openai-realtime.md: a second <c>response.create</c> while one is active is refused with
/// <c>conversation_already_has_active_response</c>): a request made while a response is requested, playing or the
/// session not ready waits, and when several wait the most important (<see cref="ResponseKind"/> order, e.g. a goodbye
/// over a re-prompt) is sent when the current response is done. A request the provider never answers is forgotten after
/// <see cref="RequestTimeout"/>. Timestamps are <see cref="Stopwatch"/> ticks. Not thread-safe: the bridge calls it
/// under its lock.
/// </summary>
internal sealed class ResponseQueue
{
    /// <summary>How long a <c>response.create</c> may go unanswered before the bridge stops waiting for it.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private long requestedAt;
    private ResponseKind pending;
    private string? pendingReason;

    /// <summary>A response is being generated or played (<c>response.created</c> seen, <c>response.done</c> not yet).</summary>
    public bool Active { get; private set; }

    /// <summary>A <c>response.create</c> was sent and not yet answered.</summary>
    public bool Requested { get; private set; }

    /// <summary>A request is waiting for the current response to finish.</summary>
    public bool HasPending => pending != ResponseKind.None;

    /// <summary>True when the request should be sent now (it is then <see cref="Requested"/>); false when it waits.</summary>
    public bool TryRequest(ResponseKind kind, string? reason, bool ready, long now)
    {
        if (Active || Requested || !ready)
        {
            if (kind >= pending)
            {
                pending = kind;
                pendingReason = reason;
            }
            return false;
        }
        Requested = true;
        requestedAt = now;
        return true;
    }

    /// <summary><c>response.created</c>.</summary>
    public void Created()
    {
        Active = true;
        Requested = false;
    }

    /// <summary><c>response.done</c>: true with the waiting request, if any, to send next.</summary>
    public bool Done(out ResponseKind next, out string? reason)
    {
        Active = false;
        next = pending;
        reason = pendingReason;
        pending = ResponseKind.None;
        return next != ResponseKind.None;
    }

    /// <summary>The provider refused the request (a response was already active).</summary>
    public void Refused() => Requested = false;

    /// <summary>Forgets a request unanswered for <see cref="RequestTimeout"/>.</summary>
    public void ExpireRequest(long now)
    {
        if (Requested && Stopwatch.GetElapsedTime(requestedAt, now) > RequestTimeout)
        {
            Requested = false;
        }
    }

    /// <summary>The provider session dropped: nothing is active any more; true when a response was requested or playing.</summary>
    public bool Reset()
    {
        var wasSpeaking = Active || Requested;
        Active = false;
        Requested = false;
        return wasSpeaking;
    }
}
