namespace Switchboard.Tests.Support;

/// <summary>A <see cref="TimeProvider"/> whose time moves only when a test says so (the testing package is not installable here).</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private readonly Lock gate = new();
    private DateTimeOffset now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (gate)
        {
            return now;
        }
    }

    public void Advance(TimeSpan by)
    {
        lock (gate)
        {
            now = now.Add(by);
        }
    }
}
