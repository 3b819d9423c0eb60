namespace Arca.Storage.Decorators;

/// <summary>How often <see cref="FaultInjectingStorage"/> fails, and the seed that makes it repeatable.</summary>
public sealed record FaultOptions
{
    /// <summary>The chance (0 to 1) that an operation fails with a transient error before reaching storage.</summary>
    public double FailureRate { get; init; }

    /// <summary>The chance (0 to 1) that a put which succeeded still reports a transient error.</summary>
    public double FailAfterPutRate { get; init; }

    /// <summary>The chance (0 to 1) that a read hands its callback fewer bytes than it asked for.</summary>
    public double ShortReadRate { get; init; }

    /// <summary>Each operation first waits a random time up to this long, as a distant server makes it.</summary>
    public TimeSpan MaxLatency { get; init; }

    /// <summary>Seeds the random source, so a failing run can be replayed.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless every rate lies between 0 and 1.</summary>
    public void Validate()
    {
        Check(FailureRate, nameof(FailureRate));
        Check(FailAfterPutRate, nameof(FailAfterPutRate));
        Check(ShortReadRate, nameof(ShortReadRate));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLatency, TimeSpan.Zero);

        static void Check(double rate, string name)
        {
            if (!double.IsFinite(rate) || rate is < 0 or > 1)
            {
                throw new ArgumentOutOfRangeException(name, rate, $"{name} must lie between 0 and 1.");
            }
        }
    }
}
