using Arca.Storage.Decorators;
using Arca.Storage.InMemory;

namespace Arca.Storage.Tests;

public sealed class RetryingStorageTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly StorageKey Key = new(StorageKind.Pack, "ab01");

    private static StorageException Transient() => new("The connection was reset.", isTransient: true);

    private static StorageException Permanent() => new("Access denied.", isTransient: false);

    private static RetryingStorage Retrying(IStorage inner, int attempts = 3, TimeProvider? clock = null) =>
        new(inner, new RetryOptions { MaxRetryAttempts = attempts }, clock ?? new InstantTimeProvider());

    [Fact]
    public async Task A_permanent_error_is_not_retried()
    {
        var inner = new ScriptedStorage(new InMemoryStorage()) { Script = (_, _) => Permanent() };
        var storage = Retrying(inner);

        var error = await Should.ThrowAsync<StorageException>(() => storage.PutBytesAsync(Key, new byte[10], None));

        error.IsTransient.ShouldBeFalse();
        inner.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task A_missing_file_is_not_retried()
    {
        var inner = new ScriptedStorage(new InMemoryStorage());
        var storage = Retrying(inner);

        await Should.ThrowAsync<StorageNotFoundException>(() => storage.ReadAllAsync(Key, None));

        inner.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task A_bad_range_is_not_retried()
    {
        var memory = new InMemoryStorage();
        await memory.PutBytesAsync(Key, new byte[10], None);
        var inner = new ScriptedStorage(memory);
        var storage = Retrying(inner);

        var error = await Should.ThrowAsync<StorageException>(() => storage.ReadAllAsync(Key, None, offset: 5, length: 6));

        error.IsTransient.ShouldBeFalse();
        inner.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task An_unexpected_error_is_not_retried()
    {
        var inner = new ScriptedStorage(new InMemoryStorage()) { Script = (_, _) => new InvalidOperationException("bug") };
        var storage = Retrying(inner);

        await Should.ThrowAsync<InvalidOperationException>(() => storage.StatAsync(Key, None));

        inner.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task Transient_errors_are_retried_until_one_attempt_succeeds()
    {
        var inner = new ScriptedStorage(new InMemoryStorage()) { Script = (_, call) => call <= 2 ? Transient() : null };
        var clock = new InstantTimeProvider();
        var storage = Retrying(inner, clock: clock);

        await storage.PutBytesAsync(Key, new byte[10], None);

        inner.Calls.ShouldBe(3);
        clock.Delays.Count.ShouldBe(2);
    }

    [Fact]
    public async Task Retries_give_up_after_the_configured_attempts_with_the_transient_error()
    {
        var inner = new ScriptedStorage(new InMemoryStorage()) { Script = (_, _) => Transient() };
        var clock = new InstantTimeProvider();
        var storage = Retrying(inner, attempts: 4, clock);

        var error = await Should.ThrowAsync<StorageException>(() => storage.DeleteAsync(Key, None));

        error.IsTransient.ShouldBeTrue();
        inner.Calls.ShouldBe(5);
        clock.Delays.Count.ShouldBe(4);
    }

    [Fact]
    public async Task With_no_retries_configured_a_transient_error_passes_straight_through()
    {
        var inner = new ScriptedStorage(new InMemoryStorage()) { Script = (_, _) => Transient() };
        var storage = Retrying(inner, attempts: 0);

        (await Should.ThrowAsync<StorageException>(() => storage.StatAsync(Key, None))).IsTransient.ShouldBeTrue();

        inner.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task Waits_grow_between_attempts_and_stay_under_the_maximum()
    {
        var inner = new ScriptedStorage(new InMemoryStorage()) { Script = (_, _) => Transient() };
        var clock = new InstantTimeProvider();
        var options = new RetryOptions { MaxRetryAttempts = 8, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(20) };
        var storage = new RetryingStorage(inner, options, clock);

        await Should.ThrowAsync<StorageException>(() => storage.StatAsync(Key, None));

        var delays = clock.Delays;
        delays.Count.ShouldBe(8);
        delays.ShouldAllBe(delay => delay > TimeSpan.Zero && delay <= options.MaxDelay);
        // Jittered, so compare the halves rather than each step.
        delays.Skip(4).Sum(d => d.TotalSeconds).ShouldBeGreaterThan(delays.Take(4).Sum(d => d.TotalSeconds));
    }

    [Fact]
    public async Task Cancellation_during_a_wait_stops_retrying()
    {
        var attempted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inner = new ScriptedStorage(new InMemoryStorage())
        {
            Script = (_, _) => Transient(),
            OnCall = (_, _) => attempted.TrySetResult(),
        };
        var clock = new StoppedTimeProvider();
        var storage = Retrying(inner, attempts: 10, clock);
        using var cancellation = new CancellationTokenSource();

        var put = storage.PutBytesAsync(Key, new byte[10], cancellation.Token);
        await attempted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cancellation.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => put.WaitAsync(TimeSpan.FromSeconds(10)));
        inner.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task Cancellation_right_after_a_failed_attempt_stops_retrying()
    {
        using var cancellation = new CancellationTokenSource();
        var inner = new ScriptedStorage(new InMemoryStorage())
        {
            Script = (_, _) =>
            {
                cancellation.Cancel();
                return Transient();
            },
        };
        var storage = Retrying(inner, attempts: 10);

        await Should.ThrowAsync<OperationCanceledException>(() => storage.StatAsync(Key, cancellation.Token));

        inner.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task An_already_cancelled_call_does_not_reach_storage()
    {
        var inner = new ScriptedStorage(new InMemoryStorage());
        var storage = Retrying(inner);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => storage.StatAsync(Key, cancellation.Token));

        inner.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task A_retried_put_rewinds_the_stream_to_where_it_started()
    {
        var memory = new InMemoryStorage();
        var inner = new ScriptedStorage(memory) { Script = (operation, call) => operation == "put" && call <= 2 ? Transient() : null };
        var storage = Retrying(inner);
        var bytes = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        using var stream = new MemoryStream(bytes) { Position = 10 };

        await storage.PutAsync(Key, stream, None);

        inner.Calls.ShouldBe(3);
        (await memory.ReadAllAsync(Key, None)).ShouldBe(bytes[10..]);
    }

    [Fact]
    public async Task A_put_from_a_stream_that_cannot_rewind_is_refused()
    {
        var inner = new ScriptedStorage(new InMemoryStorage());
        var storage = Retrying(inner);

        await Should.ThrowAsync<ArgumentException>(() => storage.PutAsync(Key, new BrokenStream(), None));

        inner.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task A_put_whose_source_stream_breaks_is_not_retried()
    {
        var inner = new ScriptedStorage(new InMemoryStorage());
        var storage = Retrying(inner);
        using var source = new SeekableBrokenStream();

        (await Should.ThrowAsync<StorageException>(() => storage.PutAsync(Key, source, None))).IsTransient.ShouldBeFalse();

        inner.Calls.ShouldBe(1);
    }

    [Theory]
    [InlineData(typeof(EndOfStreamException))]
    [InlineData(typeof(IOException))]
    public async Task A_read_whose_stream_breaks_calls_the_callback_again(Type errorType)
    {
        var memory = new InMemoryStorage();
        var bytes = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        await memory.PutBytesAsync(Key, bytes, None);
        var storage = Retrying(memory);
        var calls = 0;
        byte[] seen = [];

        await storage.ReadAsync(Key, 0, 0, async (stream, ct) =>
        {
            var buffer = new byte[100];
            await stream.ReadExactlyAsync(buffer, ct);
            if (++calls < 3)
            {
                throw (Exception)Activator.CreateInstance(errorType, "cut off")!;
            }
            seen = buffer;
        }, None);

        calls.ShouldBe(3);
        seen.ShouldBe(bytes);
    }

    [Fact]
    public async Task A_missing_file_reported_by_the_read_callback_is_not_retried()
    {
        var memory = new InMemoryStorage();
        await memory.PutBytesAsync(Key, new byte[10], None);
        var storage = Retrying(memory);
        var calls = 0;

        await Should.ThrowAsync<FileNotFoundException>(() => storage.ReadAsync(Key, 0, 0, (_, _) =>
        {
            calls++;
            throw new FileNotFoundException("The restore target vanished.");
        }, None));

        calls.ShouldBe(1);
    }

    [Fact]
    public async Task Io_errors_outside_reads_are_not_retried()
    {
        var inner = new ScriptedStorage(new InMemoryStorage()) { Script = (_, _) => new IOException("disk") };
        var storage = Retrying(inner);

        await Should.ThrowAsync<IOException>(() => storage.DeleteAsync(Key, None));

        inner.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task A_listing_that_breaks_is_started_again_without_repeating_entries()
    {
        var memory = new InMemoryStorage();
        foreach (var name in new[] { "aa01", "aa02", "aa03" })
        {
            await memory.PutBytesAsync(new StorageKey(StorageKind.Pack, name), new byte[5], None);
        }
        var inner = new ScriptedStorage(memory) { Script = (_, call) => call == 1 ? Transient() : null };
        var storage = Retrying(inner);

        List<string> names = [];
        await foreach (var entry in storage.ListAsync(StorageKind.Pack, None))
        {
            names.Add(entry.Key.Name);
        }

        names.ShouldBe(["aa01", "aa02", "aa03"], ignoreOrder: true);
        inner.Calls.ShouldBe(2);
    }

    [Fact]
    public async Task Stat_returns_what_the_successful_attempt_found()
    {
        var memory = new InMemoryStorage();
        await memory.PutBytesAsync(Key, new byte[42], None);
        var inner = new ScriptedStorage(memory) { Script = (_, call) => call == 1 ? Transient() : null };
        var storage = Retrying(inner);

        (await storage.StatAsync(Key, None)).ShouldBe(new StorageEntry(Key, 42));
        (await storage.StatAsync(new StorageKey(StorageKind.Pack, "none"), None)).ShouldBeNull();
    }

    [Theory]
    [InlineData(-1, 1, 10)]
    [InlineData(3, -1, 10)]
    [InlineData(3, 86_401, 100_000)]
    [InlineData(3, 10, 5)]
    public void Options_out_of_range_are_refused(int attempts, int baseSeconds, int maxSeconds)
    {
        var options = new RetryOptions
        {
            MaxRetryAttempts = attempts,
            BaseDelay = TimeSpan.FromSeconds(baseSeconds),
            MaxDelay = TimeSpan.FromSeconds(maxSeconds),
        };

        Should.Throw<ArgumentOutOfRangeException>(options.Validate);
        Should.Throw<ArgumentOutOfRangeException>(() => new RetryingStorage(new InMemoryStorage(), options));
    }

    [Fact]
    public void The_default_options_are_valid()
    {
        new RetryOptions().Validate();
        new RetryingStorage(new InMemoryStorage()).Options.ShouldBe(new RetryOptions());
    }

    /// <summary>A seekable source that fails partway, like a file on a failing disk.</summary>
    private sealed class SeekableBrokenStream : MemoryStream
    {
        public SeekableBrokenStream() : base(new byte[100]) { }

        public override int Read(byte[] buffer, int offset, int count) => Position >= 50
            ? throw new IOException("The source broke.")
            : base.Read(buffer, offset, Math.Min(count, 50 - (int)Position));

        public override int Read(Span<byte> buffer) => Position >= 50
            ? throw new IOException("The source broke.")
            : base.Read(buffer[..Math.Min(buffer.Length, 50 - (int)Position)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer, offset, count));
    }
}
