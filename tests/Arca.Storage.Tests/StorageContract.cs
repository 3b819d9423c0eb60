namespace Arca.Storage.Tests;

/// <summary>
/// Every behaviour <see cref="IStorage"/> promises, run against each implementation by deriving from this
/// class (restic's internal/backend/test/suite.go). Callbacks here keep no state across calls, as the
/// interface requires, so the suite also runs through retrying and fault-injecting decorators.
/// </summary>
public abstract class StorageContract
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A fresh, empty storage. Called once per test.</summary>
    protected abstract IStorage CreateStorage();

    protected static byte[] Bytes(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    protected static StorageKey Pack(string name) => new(StorageKind.Pack, name);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(5 * 1024 * 1024)]
    public async Task Put_then_read_returns_the_same_bytes(int length)
    {
        var storage = CreateStorage();
        var key = Pack($"ab{length:x8}");
        var bytes = Bytes(length);

        await storage.PutBytesAsync(key, bytes, None);

        (await storage.ReadAllAsync(key, None)).ShouldBe(bytes);
        (await storage.StatAsync(key, None)).ShouldBe(new StorageEntry(key, length));
    }

    [Fact]
    public async Task A_staged_file_appears_whole_at_its_commit_and_not_before()
    {
        var storage = CreateStorage();
        var key = Pack("cd0001");
        var bytes = Bytes(3 * 1024 * 1024 + 17);

        await using (var staged = await storage.StageAsync(StorageKind.Pack, None))
        {
            await staged.AppendAsync(bytes.AsMemory(0, 1000), None);
            await staged.AppendAsync(bytes.AsMemory(1000), None);
            staged.Length.ShouldBe(bytes.Length);
            (await storage.StatAsync(key, None)).ShouldBeNull();
            (await ListAsync(storage, StorageKind.Pack)).ShouldBeEmpty();

            await staged.CommitAsync(key, None);
        }

        (await storage.ReadAllAsync(key, None)).ShouldBe(bytes);
        (await ListAsync(storage, StorageKind.Pack)).ShouldBe([new StorageEntry(key, bytes.Length)]);
    }

    [Fact]
    public async Task A_staged_file_disposed_without_a_commit_leaves_nothing()
    {
        var storage = CreateStorage();

        await using (var staged = await storage.StageAsync(StorageKind.Pack, None))
        {
            await staged.AppendAsync(Bytes(5000), None);
        }

        (await ListAsync(storage, StorageKind.Pack)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Committing_a_staged_file_under_an_existing_name_keeps_one_file()
    {
        var storage = CreateStorage();
        var key = Pack("cd0002");
        var bytes = Bytes(2000);
        await storage.PutBytesAsync(key, bytes, None);

        await using (var staged = await storage.StageAsync(StorageKind.Pack, None))
        {
            await staged.AppendAsync(bytes, None);
            await staged.CommitAsync(key, None);
        }

        (await storage.ReadAllAsync(key, None)).ShouldBe(bytes);
        (await ListAsync(storage, StorageKind.Pack)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Put_writes_from_the_current_position_of_the_stream()
    {
        var storage = CreateStorage();
        var key = new StorageKey(StorageKind.Index, "positioned");
        var bytes = Bytes(100);
        using var stream = new MemoryStream(bytes) { Position = 30 };

        await storage.PutAsync(key, stream, None);

        (await storage.ReadAllAsync(key, None)).ShouldBe(bytes[30..]);
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(0, 1)]
    [InlineData(10, 20)]
    [InlineData(99, 1)]
    [InlineData(40, 60)]
    [InlineData(0, 0)]
    [InlineData(37, 0)]
    [InlineData(100, 0)]
    public async Task A_range_read_returns_exactly_those_bytes_and_length_0_means_to_the_end(int offset, int length)
    {
        var storage = CreateStorage();
        var key = Pack("cd01");
        var bytes = Bytes(100);
        await storage.PutBytesAsync(key, bytes, None);

        var read = await storage.ReadAllAsync(key, None, offset, length);

        read.ShouldBe(length == 0 ? bytes[offset..] : bytes[offset..(offset + length)]);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(-1, 10)]
    [InlineData(101, 0)]
    [InlineData(0, 101)]
    [InlineData(50, 51)]
    [InlineData(100, 1)]
    [InlineData(0, -1)]
    [InlineData(1, long.MaxValue)]
    [InlineData(long.MaxValue, 1)]
    public async Task A_range_outside_the_file_is_a_permanent_error(long offset, long length)
    {
        var storage = CreateStorage();
        var key = Pack("cd02");
        await storage.PutBytesAsync(key, Bytes(100), None);
        var called = false;

        var error = await Should.ThrowAsync<StorageException>(() => storage.ReadAsync(key, offset, length, (_, _) =>
        {
            called = true;
            return Task.CompletedTask;
        }, None));

        error.IsTransient.ShouldBeFalse();
        called.ShouldBeFalse();
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(5, 0)]
    [InlineData(0, 4096)]
    [InlineData(1000, 3000)]
    [InlineData(8191, 1)]
    public async Task The_read_callback_sees_exactly_the_requested_bytes_and_then_the_end(int offset, int length)
    {
        var storage = CreateStorage();
        var key = Pack("ef03");
        var bytes = Bytes(8192);
        await storage.PutBytesAsync(key, bytes, None);
        var expected = length == 0 ? bytes[offset..] : bytes[offset..(offset + length)];
        byte[]? seen = null;

        await storage.ReadAsync(key, offset, length, async (stream, ct) =>
        {
            // Small reads, so a stream that hands out more than the range would show it.
            using var copy = new MemoryStream();
            var buffer = new byte[777];
            int n;
            while ((n = await stream.ReadAsync(buffer, ct)) > 0)
            {
                copy.Write(buffer, 0, n);
            }
            (await stream.ReadAsync(buffer, ct)).ShouldBe(0);
            if (copy.Length < expected.Length)
            {
                // What a careful consumer does on a short read; a retrying storage tries again.
                throw new EndOfStreamException($"Got {copy.Length} of {expected.Length} bytes.");
            }
            seen = copy.ToArray();
        }, None);

        seen.ShouldBe(expected);
    }

    [Fact]
    public async Task ReadIntoAsync_fills_the_destination_from_the_offset()
    {
        var storage = CreateStorage();
        var key = Pack("ef04");
        var bytes = Bytes(300);
        await storage.PutBytesAsync(key, bytes, None);
        var destination = new byte[50];

        await storage.ReadIntoAsync(key, 120, destination, None);

        destination.ShouldBe(bytes[120..170]);
    }

    [Fact]
    public async Task Reading_a_missing_file_throws_not_found()
    {
        var storage = CreateStorage();
        var key = Pack("0123");

        var error = await Should.ThrowAsync<StorageNotFoundException>(() => storage.ReadAllAsync(key, None));

        error.Key.ShouldBe(key);
    }

    [Fact]
    public async Task Stat_of_a_present_file_gives_its_length()
    {
        var storage = CreateStorage();
        var key = new StorageKey(StorageKind.Snapshot, "s1");
        await storage.PutBytesAsync(key, Bytes(1234), None);

        (await storage.StatAsync(key, None)).ShouldBe(new StorageEntry(key, 1234));
    }

    [Fact]
    public async Task Stat_of_a_missing_file_is_null()
    {
        var storage = CreateStorage();

        (await storage.StatAsync(new StorageKey(StorageKind.Key, "nope"), None)).ShouldBeNull();
        (await storage.StatAsync(new StorageKey(StorageKind.Config, "config"), None)).ShouldBeNull();
        (await storage.StatAsync(Pack("ffff"), None)).ShouldBeNull();
    }

    [Fact]
    public async Task Listing_an_empty_storage_gives_nothing_for_every_kind()
    {
        var storage = CreateStorage();

        foreach (var kind in Enum.GetValues<StorageKind>())
        {
            (await ListAsync(storage, kind)).ShouldBeEmpty();
        }
    }

    [Fact]
    public async Task Listing_returns_the_files_of_one_kind_only_with_their_lengths()
    {
        var storage = CreateStorage();
        StorageKey[] keys =
        [
            new(StorageKind.Config, "config"),
            new(StorageKind.Key, "k1"),
            new(StorageKind.Key, "k2"),
            new(StorageKind.Lock, "l1"),
            new(StorageKind.Snapshot, "s1"),
            new(StorageKind.Snapshot, "s2"),
            new(StorageKind.Snapshot, "s3"),
            new(StorageKind.Index, "i1"),
            Pack("aa11"),
            Pack("aa22"),
            Pack("bb33"),
            Pack("c4"),
        ];
        for (var i = 0; i < keys.Length; i++)
        {
            await storage.PutBytesAsync(keys[i], Bytes(10 + i, seed: i), None);
        }

        foreach (var kind in Enum.GetValues<StorageKind>())
        {
            var listed = await ListAsync(storage, kind);

            var expected = keys.Select((key, i) => new StorageEntry(key, 10 + i)).Where(e => e.Key.Kind == kind);
            listed.ShouldBe(expected, ignoreOrder: true, $"listing {kind}");
        }
    }

    [Fact]
    public async Task A_second_put_of_the_same_name_keeps_the_first_bytes()
    {
        var storage = CreateStorage();
        var key = new StorageKey(StorageKind.Index, "once");
        var first = Bytes(64, seed: 1);

        await storage.PutBytesAsync(key, first, None);
        await storage.PutBytesAsync(key, Bytes(80, seed: 2), None);

        (await storage.ReadAllAsync(key, None)).ShouldBe(first);
        (await storage.StatAsync(key, None)).ShouldBe(new StorageEntry(key, 64));
        (await ListAsync(storage, StorageKind.Index)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Concurrent_puts_of_the_same_name_and_bytes_all_succeed()
    {
        var storage = CreateStorage();
        var key = Pack("dd55");
        var bytes = Bytes(100_000);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => storage.PutBytesAsync(key, bytes, None))));

        (await storage.ReadAllAsync(key, None)).ShouldBe(bytes);
        (await ListAsync(storage, StorageKind.Pack)).ShouldBe([new StorageEntry(key, bytes.Length)]);
    }

    [Fact]
    public async Task A_deleted_file_is_gone()
    {
        var storage = CreateStorage();
        var key = new StorageKey(StorageKind.Lock, "lock1");
        await storage.PutBytesAsync(key, Bytes(10), None);

        await storage.DeleteAsync(key, None);

        await Should.ThrowAsync<StorageNotFoundException>(() => storage.ReadAllAsync(key, None));
        (await storage.StatAsync(key, None)).ShouldBeNull();
        (await ListAsync(storage, StorageKind.Lock)).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_deleted_name_can_be_written_again()
    {
        var storage = CreateStorage();
        var key = new StorageKey(StorageKind.Lock, "lock2");
        await storage.PutBytesAsync(key, Bytes(10, seed: 1), None);
        await storage.DeleteAsync(key, None);

        await storage.PutBytesAsync(key, Bytes(20, seed: 2), None);

        (await storage.ReadAllAsync(key, None)).ShouldBe(Bytes(20, seed: 2));
    }

    [Fact]
    public async Task Deleting_a_missing_file_is_fine()
    {
        var storage = CreateStorage();

        await storage.DeleteAsync(Pack("ee66"), None);
        await storage.DeleteAsync(new StorageKey(StorageKind.Snapshot, "never"), None);
        await storage.DeleteAsync(new StorageKey(StorageKind.Config, "config"), None);
    }

    [Fact]
    public async Task Deleting_one_file_leaves_the_others()
    {
        var storage = CreateStorage();
        var keep = Pack("ab01");
        var drop = Pack("ab02");
        await storage.PutBytesAsync(keep, Bytes(5, seed: 1), None);
        await storage.PutBytesAsync(drop, Bytes(5, seed: 2), None);

        await storage.DeleteAsync(drop, None);

        (await ListAsync(storage, StorageKind.Pack)).ShouldBe([new StorageEntry(keep, 5)]);
        (await storage.ReadAllAsync(keep, None)).ShouldBe(Bytes(5, seed: 1));
    }

    [Fact]
    public async Task Concurrent_puts_of_50_names_are_all_readable()
    {
        var storage = CreateStorage();
        var keys = Enumerable.Range(0, 50).Select(i => Pack($"{i:x2}{i * 7919:x6}")).ToArray();

        await Task.WhenAll(keys.Select((key, i) =>
            Task.Run(() => storage.PutBytesAsync(key, Bytes(1000 + i, seed: i), None))));

        for (var i = 0; i < keys.Length; i++)
        {
            (await storage.ReadAllAsync(keys[i], None)).ShouldBe(Bytes(1000 + i, seed: i));
        }
        (await ListAsync(storage, StorageKind.Pack)).Select(e => e.Key).ShouldBe(keys, ignoreOrder: true);
    }

    [Fact]
    public async Task Concurrent_reads_of_one_file_all_see_the_same_bytes()
    {
        var storage = CreateStorage();
        var key = Pack("ff77");
        var bytes = Bytes(64 * 1024);
        await storage.PutBytesAsync(key, bytes, None);

        var reads = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(() => storage.ReadAllAsync(key, None, offset: i * 1000, length: 1000))));

        for (var i = 0; i < reads.Length; i++)
        {
            reads[i].ShouldBe(bytes[(i * 1000)..((i + 1) * 1000)]);
        }
    }

    [Fact]
    public void Properties_name_a_location_and_a_positive_number_of_connections()
    {
        var storage = CreateStorage();

        storage.Properties.Location.ShouldNotBeNullOrWhiteSpace();
        storage.Properties.Connections.ShouldBeGreaterThan(0);
    }

    protected static async Task<List<StorageEntry>> ListAsync(IStorage storage, StorageKind kind)
    {
        List<StorageEntry> entries = [];
        await foreach (var entry in storage.ListAsync(kind, None))
        {
            entries.Add(entry);
        }
        return entries;
    }
}
