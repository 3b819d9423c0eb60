namespace Arca.TestKit;

/// <summary>A clock that stands still until a test moves it (Polly's FakeTimeProvider, hand-written): tests never sleep.</summary>
public sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _now = now;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public void Advance(TimeSpan by)
    {
        lock (_lock)
        {
            _now += by;
        }
    }
}
