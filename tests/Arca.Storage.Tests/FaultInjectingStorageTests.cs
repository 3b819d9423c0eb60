using Arca.Storage.Decorators;
using Arca.Storage.InMemory;

namespace Arca.Storage.Tests;

public sealed class FaultInjectingStorageTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly StorageKey Key = new(StorageKind.Pack, "ab01");

    private static async Task<InMemoryStorage> StoredAsync(int length = 1000)
    {
        var inner = new InMemoryStorage();
        await inner.PutBytesAsync(Key, Enumerable.Range(0, length).Select(i => (byte)i).ToArray(), None);
        return inner;
    }

    [Fact]
    public async Task With_no_faults_it_passes_everything_through()
    {
        var inner = await StoredAsync();
        var storage = new FaultInjectingStorage(inner, new FaultOptions());

        (await storage.ReadAllAsync(Key, None)).Length.ShouldBe(1000);
        (await storage.StatAsync(Key, None)).ShouldBe(new StorageEntry(Key, 1000));
        await storage.DeleteAsync(Key, None);
        inner.Count.ShouldBe(0);
        storage.InjectedFaults.ShouldBe(0);
        storage.Properties.ShouldBe(inner.Properties);
    }

    [Fact]
    public async Task A_failing_put_fails_transiently_before_writing()
    {
        var inner = new InMemoryStorage();
        var storage = new FaultInjectingStorage(inner, new FaultOptions { FailureRate = 1 });

        var error = await Should.ThrowAsync<StorageException>(() => storage.PutBytesAsync(Key, new byte[10], None));

        error.IsTransient.ShouldBeTrue();
        inner.Count.ShouldBe(0);
        storage.InjectedFaults.ShouldBe(1);
    }

    [Fact]
    public async Task A_put_can_fail_after_the_upload_landed()
    {
        var inner = new InMemoryStorage();
        var storage = new FaultInjectingStorage(inner, new FaultOptions { FailAfterPutRate = 1 });

        var error = await Should.ThrowAsync<StorageException>(() => storage.PutBytesAsync(Key, new byte[10], None));

        error.IsTransient.ShouldBeTrue();
        (await inner.StatAsync(Key, None)).ShouldBe(new StorageEntry(Key, 10));
    }

    [Fact]
    public async Task Every_operation_can_fail_transiently()
    {
        var inner = await StoredAsync();
        var storage = new FaultInjectingStorage(inner, new FaultOptions { FailureRate = 1 });

        (await Should.ThrowAsync<StorageException>(() => storage.ReadAllAsync(Key, None))).IsTransient.ShouldBeTrue();
        (await Should.ThrowAsync<StorageException>(() => storage.StatAsync(Key, None))).IsTransient.ShouldBeTrue();
        (await Should.ThrowAsync<StorageException>(() => storage.DeleteAsync(Key, None))).IsTransient.ShouldBeTrue();
        var listing = await Should.ThrowAsync<StorageException>(async () =>
        {
            await foreach (var _ in storage.ListAsync(StorageKind.Pack, None))
            {
            }
        });
        listing.IsTransient.ShouldBeTrue();
        inner.Count.ShouldBe(1);
        storage.InjectedFaults.ShouldBe(4);
    }

    [Fact]
    public async Task A_short_read_of_a_range_ends_early_so_ReadExactly_throws()
    {
        var storage = new FaultInjectingStorage(await StoredAsync(), new FaultOptions { ShortReadRate = 1, Seed = 3 });
        var destination = new byte[500];

        await Should.ThrowAsync<EndOfStreamException>(() => storage.ReadIntoAsync(Key, 100, destination, None));
        storage.InjectedFaults.ShouldBe(1);
    }

    [Fact]
    public async Task A_short_read_to_the_end_breaks_with_an_io_error()
    {
        var storage = new FaultInjectingStorage(await StoredAsync(), new FaultOptions { ShortReadRate = 1, Seed = 3 });

        var error = await Should.ThrowAsync<IOException>(() => storage.ReadAllAsync(Key, None));

        error.ShouldNotBeOfType<EndOfStreamException>();
    }

    [Fact]
    public async Task A_short_read_hands_over_a_true_prefix()
    {
        var storage = new FaultInjectingStorage(await StoredAsync(), new FaultOptions { ShortReadRate = 1, Seed = 5 });
        byte[] seen = [];

        await storage.ReadAsync(Key, 200, 600, async (stream, ct) =>
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, ct);
            seen = copy.ToArray();
        }, None);

        seen.Length.ShouldBeLessThan(600);
        seen.ShouldBe(Enumerable.Range(200, seen.Length).Select(i => (byte)i).ToArray());
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_faults()
    {
        static async Task<string> RunAsync(int seed)
        {
            var storage = new FaultInjectingStorage(new InMemoryStorage(), new FaultOptions { FailureRate = 0.5, Seed = seed });
            var outcome = "";
            for (var i = 0; i < 64; i++)
            {
                try
                {
                    await storage.StatAsync(Key, None);
                    outcome += ".";
                }
                catch (StorageException)
                {
                    outcome += "x";
                }
            }
            return outcome;
        }

        var first = await RunAsync(42);

        (await RunAsync(42)).ShouldBe(first);
        (await RunAsync(43)).ShouldNotBe(first);
        first.ShouldContain('x');
        first.ShouldContain('.');
    }

    [Theory]
    [InlineData(-0.1, 0, 0)]
    [InlineData(1.1, 0, 0)]
    [InlineData(0, double.NaN, 0)]
    [InlineData(0, 0, double.PositiveInfinity)]
    [InlineData(0, 0, 2)]
    public void Rates_outside_0_to_1_are_refused(double failure, double afterPut, double shortRead)
    {
        var options = new FaultOptions { FailureRate = failure, FailAfterPutRate = afterPut, ShortReadRate = shortRead };

        Should.Throw<ArgumentOutOfRangeException>(options.Validate);
        Should.Throw<ArgumentOutOfRangeException>(() => new FaultInjectingStorage(new InMemoryStorage(), options));
    }
}
