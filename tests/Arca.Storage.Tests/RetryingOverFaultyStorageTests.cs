using Arca.Storage.Decorators;
using Arca.Storage.InMemory;

namespace Arca.Storage.Tests;

/// <summary>
/// The whole contract through retries over a storage where one call in five fails, one successful put in
/// five reports a failure anyway and one read in five is cut short: retrying must hide all of it. The clock
/// fires at once, so the backoff costs no time.
/// </summary>
public sealed class RetryingOverFaultyStorageTests : StorageContract
{
    private static readonly FaultOptions Faults = new()
    {
        FailureRate = 0.2,
        FailAfterPutRate = 0.2,
        ShortReadRate = 0.2,
        Seed = 20240611,
    };

    // 12 retries: the chance that 13 calls in a row fail at these rates is about 1 in 10^8 per operation.
    private static readonly RetryOptions Retries = new() { MaxRetryAttempts = 12 };

    protected override IStorage CreateStorage() =>
        new RetryingStorage(new FaultInjectingStorage(new InMemoryStorage(), Faults), Retries, new InstantTimeProvider());

    [Fact]
    public async Task Faults_really_happen_and_are_hidden_with_backoff()
    {
        var clock = new InstantTimeProvider();
        var faulty = new FaultInjectingStorage(new InMemoryStorage(), Faults);
        var storage = new RetryingStorage(faulty, Retries, clock);
        var keys = Enumerable.Range(0, 40).Select(i => Pack($"{i:x4}")).ToArray();

        foreach (var key in keys)
        {
            await storage.PutBytesAsync(key, Bytes(500, seed: key.Name.Length), CancellationToken.None);
        }
        foreach (var key in keys)
        {
            (await storage.ReadAllAsync(key, CancellationToken.None, offset: 10, length: 400))
                .ShouldBe(Bytes(500, seed: key.Name.Length)[10..410]);
        }
        (await ListAsync(storage, StorageKind.Pack)).Count.ShouldBe(keys.Length);

        faulty.InjectedFaults.ShouldBeGreaterThan(10);
        clock.Delays.Count.ShouldBeGreaterThanOrEqualTo((int)faulty.InjectedFaults);
        clock.Delays.ShouldAllBe(delay => delay > TimeSpan.Zero && delay <= Retries.MaxDelay);
    }
}
