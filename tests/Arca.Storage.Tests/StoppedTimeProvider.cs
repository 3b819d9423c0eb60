namespace Arca.Storage.Tests;

/// <summary>A clock that never moves: every wait lasts until it is cancelled.</summary>
internal sealed class StoppedTimeProvider : TimeProvider
{
    private int _timers;

    /// <summary>How many waits have begun.</summary>
    public int Timers => Volatile.Read(ref _timers);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _timers);
        return new NeverTimer();
    }

    private sealed class NeverTimer : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;
        public void Dispose() { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
