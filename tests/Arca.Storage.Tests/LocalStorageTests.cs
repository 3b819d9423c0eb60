using Arca.Storage.Local;

namespace Arca.Storage.Tests;

/// <summary>The contract on a real folder (one per test), plus what only a folder on disk can show.</summary>
public sealed class LocalStorageTests : StorageContract, IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly ScratchFolder _folder = new();

    protected override IStorage CreateStorage() => new LocalStorage(_folder.Combine("repo"));

    public void Dispose() => _folder.Dispose();

    private async Task<LocalStorage> CreateWithLayoutAsync()
    {
        var storage = new LocalStorage(_folder.Combine("repo"));
        await storage.CreateAsync(None);
        return storage;
    }

    private static string[] TemporaryFiles(LocalStorage storage) =>
        Directory.Exists(storage.Root)
            ? Directory.GetFiles(storage.Root, ".tmp-*", SearchOption.AllDirectories)
            : [];

    [Fact]
    public async Task Listing_while_another_process_deletes_files_skips_the_ones_that_went()
    {
        // Four backups at once list each other's locks while they come and go: a file deleted between the
        // directory read and its stat is simply not listed (it failed a CLI test as an internal error).
        var storage = await CreateWithLayoutAsync();
        using var stop = new CancellationTokenSource();
        var churn = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = new StorageKey(StorageKind.Lock, $"{i % 50:x4}");
                await storage.PutBytesAsync(key, Bytes(100), None);
                await storage.DeleteAsync(key, None);
            }
        });
        try
        {
            for (var round = 0; round < 3000; round++)
            {
                await foreach (var entry in storage.ListAsync(StorageKind.Lock, None))
                {
                    entry.Length.ShouldBe(100);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await churn;
        }
    }

    [Fact]
    public async Task Puts_leave_no_temporary_files_behind()
    {
        var storage = await CreateWithLayoutAsync();
        var key = Pack("ab1234");

        await storage.PutBytesAsync(key, Bytes(5000), None);
        await storage.PutBytesAsync(key, Bytes(10), None);
        await storage.PutBytesAsync(new StorageKey(StorageKind.Config, "config"), Bytes(10), None);
        await storage.PutBytesAsync(new StorageKey(StorageKind.Snapshot, "s"), Bytes(0), None);

        TemporaryFiles(storage).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_staged_pack_is_written_in_place_and_its_commit_leaves_no_temporary_file()
    {
        var storage = await CreateWithLayoutAsync();
        var key = Pack("ef0123");

        await using (var staged = await storage.StageAsync(StorageKind.Pack, None))
        {
            await staged.AppendAsync(Bytes(4000), None);
            // In the repository's own data folder, so the commit is a rename and never a copy.
            TemporaryFiles(storage).ShouldHaveSingleItem().ShouldStartWith(Path.Combine(storage.Root, "data") + "/");
            await staged.CommitAsync(key, None);
        }

        TemporaryFiles(storage).ShouldBeEmpty();
        File.Exists(storage.PathOf(key)).ShouldBeTrue();
        (File.GetUnixFileMode(storage.PathOf(key)) & UnixFileMode.UserWrite).ShouldBe(UnixFileMode.None);
    }

    [Fact]
    public async Task An_abandoned_staged_pack_leaves_no_temporary_file()
    {
        var storage = await CreateWithLayoutAsync();

        await using (var staged = await storage.StageAsync(StorageKind.Pack, None))
        {
            await staged.AppendAsync(Bytes(4000), None);
        }

        TemporaryFiles(storage).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_put_whose_stream_fails_leaves_neither_the_file_nor_a_temporary_file()
    {
        var storage = await CreateWithLayoutAsync();
        var key = Pack("ab5678");

        var error = await Should.ThrowAsync<StorageException>(() => storage.PutAsync(key, new BrokenStream(), None));

        error.IsTransient.ShouldBeFalse();
        File.Exists(storage.PathOf(key)).ShouldBeFalse();
        TemporaryFiles(storage).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_cancelled_put_leaves_neither_the_file_nor_a_temporary_file()
    {
        var storage = await CreateWithLayoutAsync();
        var key = Pack("ab9abc");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => storage.PutBytesAsync(key, Bytes(10_000), cancelled.Token));

        File.Exists(storage.PathOf(key)).ShouldBeFalse();
        TemporaryFiles(storage).ShouldBeEmpty();
    }

    [Fact]
    public async Task Stored_files_are_read_only()
    {
        var storage = await CreateWithLayoutAsync();
        var key = new StorageKey(StorageKind.Key, "k");

        await storage.PutBytesAsync(key, Bytes(10), None);

        var mode = File.GetUnixFileMode(storage.PathOf(key));
        (mode & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)).ShouldBe(UnixFileMode.None);
        (mode & UnixFileMode.UserRead).ShouldBe(UnixFileMode.UserRead);
    }

    [Fact]
    public async Task A_leftover_temporary_file_is_not_listed_and_RemoveTemporaryFiles_removes_it()
    {
        var storage = await CreateWithLayoutAsync();
        await storage.PutBytesAsync(Pack("ab0001"), Bytes(10), None);
        await storage.PutBytesAsync(new StorageKey(StorageKind.Key, "k1"), Bytes(10), None);
        string[] leftovers =
        [
            Path.Combine(storage.Root, "data", "ab", ".tmp-0123456789abcdef"),
            Path.Combine(storage.Root, "keys", ".tmp-fedcba9876543210"),
            Path.Combine(storage.Root, ".tmp-config"),
        ];
        foreach (var leftover in leftovers)
        {
            await File.WriteAllBytesAsync(leftover, Bytes(7), None);
        }

        (await ListAsync(storage, StorageKind.Pack)).Select(e => e.Key.Name).ShouldBe(["ab0001"]);
        (await ListAsync(storage, StorageKind.Key)).Select(e => e.Key.Name).ShouldBe(["k1"]);
        (await ListAsync(storage, StorageKind.Config)).ShouldBeEmpty();

        storage.RemoveTemporaryFiles().ShouldBe(3);

        leftovers.ShouldAllBe(path => !File.Exists(path));
        File.Exists(storage.PathOf(Pack("ab0001"))).ShouldBeTrue();
        storage.RemoveTemporaryFiles().ShouldBe(0);
    }

    [Fact]
    public void RemoveTemporaryFiles_on_a_missing_folder_removes_nothing()
    {
        new LocalStorage(_folder.Combine("missing")).RemoveTemporaryFiles().ShouldBe(0);
    }

    [Fact]
    public async Task Packs_go_under_data_and_the_first_two_characters_of_their_name()
    {
        var storage = await CreateWithLayoutAsync();

        await storage.PutBytesAsync(Pack("3fa9c0de"), Bytes(10), None);
        await storage.PutBytesAsync(Pack("3f01"), Bytes(10), None);
        await storage.PutBytesAsync(Pack("e7"), Bytes(10), None);

        File.Exists(Path.Combine(storage.Root, "data", "3f", "3fa9c0de")).ShouldBeTrue();
        File.Exists(Path.Combine(storage.Root, "data", "3f", "3f01")).ShouldBeTrue();
        File.Exists(Path.Combine(storage.Root, "data", "e7", "e7")).ShouldBeTrue();
        (await ListAsync(storage, StorageKind.Pack)).Select(e => e.Key.Name).ShouldBe(["3fa9c0de", "3f01", "e7"], ignoreOrder: true);
    }

    [Fact]
    public async Task Other_kinds_go_in_their_own_folders_and_the_config_at_the_root()
    {
        var storage = await CreateWithLayoutAsync();

        await storage.PutBytesAsync(new StorageKey(StorageKind.Config, "config"), Bytes(1), None);
        await storage.PutBytesAsync(new StorageKey(StorageKind.Key, "k"), Bytes(1), None);
        await storage.PutBytesAsync(new StorageKey(StorageKind.Lock, "l"), Bytes(1), None);
        await storage.PutBytesAsync(new StorageKey(StorageKind.Snapshot, "s"), Bytes(1), None);
        await storage.PutBytesAsync(new StorageKey(StorageKind.Index, "i"), Bytes(1), None);

        File.Exists(Path.Combine(storage.Root, "config")).ShouldBeTrue();
        File.Exists(Path.Combine(storage.Root, "keys", "k")).ShouldBeTrue();
        File.Exists(Path.Combine(storage.Root, "locks", "l")).ShouldBeTrue();
        File.Exists(Path.Combine(storage.Root, "snapshots", "s")).ShouldBeTrue();
        File.Exists(Path.Combine(storage.Root, "index", "i")).ShouldBeTrue();
    }

    [Fact]
    public async Task CreateLayout_makes_one_folder_per_kind()
    {
        var storage = await CreateWithLayoutAsync();

        Directory.GetDirectories(storage.Root).Select(Path.GetFileName)
            .ShouldBe(["data", "index", "keys", "locks", "snapshots"], ignoreOrder: true);
    }

    [Fact]
    public async Task A_put_where_no_folder_can_be_made_is_a_permanent_storage_error()
    {
        // The root is a file, so no folder can be made under it (permissions would not stop root).
        var root = _folder.Combine("not-a-folder");
        await File.WriteAllBytesAsync(root, Bytes(1), None);
        var storage = new LocalStorage(root);

        var error = await Should.ThrowAsync<StorageException>(
            () => storage.PutBytesAsync(new StorageKey(StorageKind.Key, "k"), Bytes(10), None));

        error.IsTransient.ShouldBeFalse();
    }

    [Fact]
    public async Task A_file_deleted_while_being_read_is_still_read_whole()
    {
        var storage = await CreateWithLayoutAsync();
        var key = Pack("cc0001");
        var bytes = Bytes(100_000);
        await storage.PutBytesAsync(key, bytes, None);
        byte[]? seen = null;

        await storage.ReadAsync(key, 0, 0, async (stream, ct) =>
        {
            await storage.DeleteAsync(key, ct);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, ct);
            seen = copy.ToArray();
        }, None);

        seen.ShouldBe(bytes);
        (await storage.StatAsync(key, None)).ShouldBeNull();
    }
}
