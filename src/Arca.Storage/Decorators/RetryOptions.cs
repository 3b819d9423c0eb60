namespace Arca.Storage.Decorators;

/// <summary>How <see cref="RetryingStorage"/> retries.</summary>
public sealed record RetryOptions
{
    /// <summary>
    /// Attempts after the first; 0 turns retrying off. The default of 6 with the default delays waits about
    /// 30 seconds in all before giving up: long enough to ride out a dropped connection or a throttled
    /// burst, short enough that a storage that is really gone is reported while someone is still watching.
    /// </summary>
    public int MaxRetryAttempts { get; init; } = 6;

    /// <summary>The median wait before the first retry; each later wait roughly doubles, with jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>No single wait is longer than this.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a negative count or delays out of order.</summary>
    public void Validate()
    {
        if (MaxRetryAttempts < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryAttempts), MaxRetryAttempts,
                "MaxRetryAttempts must be 0 or more.");
        }
        // Polly accepts base delays up to one day.
        if (BaseDelay < TimeSpan.Zero || BaseDelay > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(BaseDelay), BaseDelay, "BaseDelay must lie between 0 and 1 day.");
        }
        if (MaxDelay < BaseDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), MaxDelay, "MaxDelay must not be shorter than BaseDelay.");
        }
    }
}
