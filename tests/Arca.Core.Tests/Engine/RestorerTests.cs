using Arca.Native;
using Arca.Repo;
using Arca.Restore;
using Arca.Repo.Format;
using Arca.Repo.Index;
using Arca.Storage;
using Arca.TestKit;
using Arca.Trees;

namespace Arca.Core.Tests.Engine;

public sealed class RestorerTests
{
    /// <summary>A snapshot holding src/dir/file.txt, and a target where src/dir is a symlink to a folder outside it.</summary>
    private static async Task<(Arca.Trees.Snapshot Snapshot, string Target, string Outside)> SnapshotWithASymlinkWhereItsFolderGoesAsync(EngineFixture fx)
    {
        await fx.CreateRepositoryAsync();
        fx.Write("dir/file.txt", "inside");
        var (snapshot, _) = await fx.BackupAsync();
        var outside = Path.Combine(fx.Root, "outside");
        Directory.CreateDirectory(outside);
        var target = Path.Combine(fx.Root, "target");
        Directory.CreateDirectory(Path.Combine(target, "src"));
        File.CreateSymbolicLink(Path.Combine(target, "src", "dir"), outside);
        return (snapshot, target, outside);
    }

    [Fact]
    public async Task A_symlink_in_the_target_where_a_folder_belongs_is_replaced_never_followed()
    {
        using var fx = new EngineFixture();
        var (snapshot, target, outside) = await SnapshotWithASymlinkWhereItsFolderGoesAsync(fx);

        var result = await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target });
        result.Errors.ShouldBeEmpty();
        Directory.EnumerateFileSystemEntries(outside).ShouldBeEmpty();
        (Posix.LinkStatus(Path.Combine(target, "src", "dir")).Mode & 0xF000).ShouldBe(0x4000u);
        File.ReadAllText(Path.Combine(target, "src", "dir", "file.txt")).ShouldBe("inside");
    }

    [Fact]
    public async Task With_skip_a_symlink_where_a_folder_belongs_is_an_error_and_nothing_is_written_through_it()
    {
        using var fx = new EngineFixture();
        var (snapshot, target, outside) = await SnapshotWithASymlinkWhereItsFolderGoesAsync(fx);

        var result = await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target, Overwrite = OverwriteMode.Skip });
        result.Errors.ShouldNotBeEmpty();
        Directory.EnumerateFileSystemEntries(outside).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_damaged_blob_fails_its_file_loudly_and_leaves_no_wrong_bytes()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        var big = new byte[1 << 20];
        new Random(1).NextBytes(big);
        fx.Write("big.bin", big);
        fx.Write("small.txt", "fine");
        var (snapshot, _) = await fx.BackupAsync();

        // Flip one byte inside big.bin's blob in its pack.
        var repository = await fx.OpenAsync();
        var tree = await repository.LoadTreeAsync((await repository.LoadTreeAsync(snapshot.Tree, CancellationToken.None)).Nodes[0].Subtree!.Value, CancellationToken.None);
        var blob = tree.Find("big.bin")!.Content![0];
        repository.Index.TryGet(blob, out var location).ShouldBeTrue();
        var packPath = fx.Storage.PathOf(new StorageKey(StorageKind.Pack, location.Pack.ToString()));
        File.SetAttributes(packPath, FileAttributes.Normal);
        var bytes = File.ReadAllBytes(packPath);
        bytes[location.Entry.Offset + 100] ^= 0x01;
        File.WriteAllBytes(packPath, bytes);

        var target = Path.Combine(fx.Root, "target");
        var result = await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target });
        result.Damaged.ShouldBe(1);
        result.Errors.Single().Path.ShouldBe("src/big.bin");
        File.Exists(Path.Combine(target, "src", "big.bin")).ShouldBeFalse();
        Directory.EnumerateFiles(Path.Combine(target, "src")).Select(Path.GetFileName).ShouldBe(["small.txt"]);
        await Should.ThrowAsync<BlobDamagedException>(() => repository.LoadBlobAsync(blob, CancellationToken.None));
    }

    [Fact]
    public async Task Two_blobs_swapped_in_their_pack_fail_their_files_instead_of_restoring_each_others_bytes()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        // Random bytes do not compress: both blobs are stored raw, at the same length, so they can trade places.
        var (a, b) = (new byte[5000], new byte[5000]);
        new Random(4).NextBytes(a);
        new Random(5).NextBytes(b);
        fx.Write("a.bin", a);
        fx.Write("b.bin", b);
        fx.Write("c.txt", "untouched");
        var (snapshot, _) = await fx.BackupAsync();

        var repository = await fx.OpenAsync();
        repository.Index.TryGet(repository.IdOf(a), out var atA).ShouldBeTrue();
        repository.Index.TryGet(repository.IdOf(b), out var atB).ShouldBeTrue();
        atB.Pack.ShouldBe(atA.Pack);
        atB.Entry.StoredLength.ShouldBe(atA.Entry.StoredLength);
        var packPath = fx.Storage.PathOf(new StorageKey(StorageKind.Pack, atA.Pack.ToString()));
        File.SetAttributes(packPath, FileAttributes.Normal);
        var bytes = File.ReadAllBytes(packPath);
        var (length, offsetA, offsetB) = ((int)atA.Entry.StoredLength, (int)atA.Entry.Offset, (int)atB.Entry.Offset);
        var sealedA = bytes.AsSpan(offsetA, length).ToArray();
        bytes.AsSpan(offsetB, length).CopyTo(bytes.AsSpan(offsetA, length));
        sealedA.CopyTo(bytes.AsSpan(offsetB, length));
        File.WriteAllBytes(packPath, bytes);

        // Each blob still authenticates under the repository's key: only its binding to its id tells it is another's.
        var target = Path.Combine(fx.Root, "target");
        var result = await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target });
        result.Damaged.ShouldBe(2);
        result.Errors.Select(e => e.Path).Order().ShouldBe(["src/a.bin", "src/b.bin"]);
        result.Errors.ShouldAllBe(e => e.Message.Contains("another blob's"));
        Directory.EnumerateFiles(Path.Combine(target, "src")).Select(Path.GetFileName).ShouldBe(["c.txt"]);
        await Should.ThrowAsync<BlobDamagedException>(() => repository.LoadBlobAsync(repository.IdOf(a), CancellationToken.None));
    }

    [Fact]
    public async Task A_blob_stored_under_an_id_its_content_does_not_hash_to_is_found_by_check_read_data()
    {
        // What only a fault in the writer could leave (a restore trusts the seal's binding and does not hash again).
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        fx.Write("a.txt", "fine");
        await fx.BackupAsync();
        var repository = await fx.OpenAsync();
        var wrongId = repository.IdOf("what was hashed"u8);
        (await repository.SaveBlobAsync(BlobType.Data, wrongId, "what was stored"u8.ToArray(), CancellationToken.None)).ShouldBeTrue();
        await repository.FlushAsync(CancellationToken.None);

        var result = await new Checker(await fx.OpenAsync()).CheckAsync(1, CancellationToken.None);
        var damaged = result.DamagedPacks.ShouldHaveSingleItem();
        damaged.Reason.ShouldContain(wrongId.ToString());
    }

    [Fact]
    public async Task Overwrite_modes_decide_per_file()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        fx.Write("a.txt", "from snapshot");
        var (snapshot, _) = await fx.BackupAsync();
        var target = Path.Combine(fx.Root, "target");
        var existing = Path.Combine(target, "src", "a.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(existing)!);

        File.WriteAllText(existing, "local edit");
        await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target, Overwrite = OverwriteMode.Skip });
        File.ReadAllText(existing).ShouldBe("local edit");

        File.SetLastWriteTimeUtc(existing, DateTime.UtcNow.AddDays(1));
        await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target, Overwrite = OverwriteMode.IfNewer });
        File.ReadAllText(existing).ShouldBe("local edit");

        File.SetLastWriteTimeUtc(existing, new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target, Overwrite = OverwriteMode.IfNewer });
        File.ReadAllText(existing).ShouldBe("from snapshot");

        File.WriteAllText(existing, "local edit");
        await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target, Overwrite = OverwriteMode.Always });
        File.ReadAllText(existing).ShouldBe("from snapshot");
    }

    [Fact]
    public async Task Include_restores_one_path_and_the_folders_on_the_way()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        fx.Write("a/one.txt", "1");
        fx.Write("a/b/two.txt", "2");
        fx.Write("c/three.txt", "3");
        var (snapshot, _) = await fx.BackupAsync();
        var target = Path.Combine(fx.Root, "target");
        await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target, Includes = ["/src/a/b"] });
        File.ReadAllText(Path.Combine(target, "src", "a", "b", "two.txt")).ShouldBe("2");
        File.Exists(Path.Combine(target, "src", "a", "one.txt")).ShouldBeFalse();
        Directory.Exists(Path.Combine(target, "src", "c")).ShouldBeFalse();
        var ex = await Should.ThrowAsync<ArcaException>(() => fx.RestoreAsync(snapshot, new RestoreOptions { Target = target, Includes = ["src/nope"] }));
        ex.Code.ShouldBe(ErrorCode.PathNotFound);
    }

    [Fact]
    public async Task Packs_are_read_while_the_walk_of_the_tree_goes_on()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        var bytes = new byte[200_000];
        new Random(7).NextBytes(bytes);
        fx.Write("a/one.bin", bytes);
        var (first, _) = await fx.BackupAsync();
        new Random(8).NextBytes(bytes);
        fx.Write("z/two.bin", bytes);
        var (second, _) = await fx.BackupAsync(first);

        // The folder z cannot be walked until some pack is read. a's content fills a pack of the first backup alone,
        // so a restore that reads while it walks gets past z; one that walked the whole tree before reading would wait forever.
        var repository = await fx.OpenAsync();
        var src = (await repository.LoadTreeAsync(second.Tree, CancellationToken.None)).Nodes.Single(n => n.Name == "src");
        var z = (await repository.LoadTreeAsync(src.Subtree!.Value, CancellationToken.None)).Nodes.Single(n => n.Name == "z");
        var gated = new TreeHeldUntilAPackIsRead(repository, z.Subtree!.Value);
        var target = Path.Combine(fx.Root, "target");

        var (plan, result) = await new Restorer(gated, gated, IRestoreProgress.None)
            .RestoreAsync(second.Tree, new RestoreOptions { Target = target }, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));

        result.Errors.ShouldBeEmpty();
        result.FilesWritten.ShouldBe(2);
        plan.Count(RestoreActionKind.Create).ShouldBe(plan.Actions.Count);
        TreeAssert.Identical(fx.Source, Path.Combine(target, "src"));
    }

    /// <summary>The repository, except that one tree is handed out only once a pack has been asked for.</summary>
    private sealed class TreeHeldUntilAPackIsRead(Repository repository, BlobId held) : IBlobLoader, ITreeLoader
    {
        private readonly TaskCompletionSource _packRead = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<Tree> LoadTreeAsync(BlobId id, CancellationToken cancellationToken)
        {
            if (id == held)
            {
                await _packRead.Task.WaitAsync(cancellationToken);
            }
            return await repository.LoadTreeAsync(id, cancellationToken);
        }

        public Task ReadPackAsync(PackId pack, IReadOnlyList<BlobEntry> blobs, PackBlobHandler handler, CancellationToken cancellationToken)
        {
            _packRead.TrySetResult();
            return repository.ReadPackAsync(pack, blobs, handler, cancellationToken);
        }

        public Task<byte[]> LoadBlobAsync(BlobId id, CancellationToken cancellationToken) => repository.LoadBlobAsync(id, cancellationToken);
        public Task<PooledBlob> LoadPooledBlobAsync(BlobId id, CancellationToken cancellationToken) => repository.LoadPooledBlobAsync(id, cancellationToken);
        public bool TryLocate(BlobId id, out IndexLocation location) => repository.TryLocate(id, out location);
        public int CountBlobsIn(PackId pack) => repository.CountBlobsIn(pack);
    }

    [Fact]
    public async Task A_pack_is_read_at_most_twice_however_often_its_content_recurs_in_the_snapshot()
    {
        using var fx = new EngineFixture(local => new CountingRemoteStorage(local));
        await fx.CreateRepositoryAsync();
        var random = new Random(3);
        var files = Enumerable.Range(0, 3).Select(_ => { var b = new byte[50_000]; random.NextBytes(b); return b; }).ToList();
        for (var i = 0; i < files.Count; i++)
        {
            fx.Write($"a/f{i}.bin", files[i]);
        }
        var (first, _) = await fx.BackupAsync();
        foreach (var copy in new[] { "b", "c", "d", "e" })
        {
            for (var i = 0; i < files.Count; i++)
            {
                fx.Write($"{copy}/f{i}.bin", files[i]);
            }
        }
        var (second, _) = await fx.BackupAsync(first);
        var repository = await fx.OpenAsync();
        var dataPacks = repository.Index.ByPack().Where(p => p.Value.Any(b => b.Type == BlobType.Data)).Select(p => p.Key.ToString()).ToList();
        dataPacks.ShouldHaveSingleItem();
        var remote = (CountingRemoteStorage)fx.RepositoryStorage;
        remote.ReadsOfPack.Clear();

        var target = Path.Combine(fx.Root, "target");
        var result = await fx.RestoreAsync(second, new RestoreOptions { Target = target });

        result.Errors.ShouldBeEmpty();
        result.FilesWritten.ShouldBe(15);
        TreeAssert.Identical(fx.Source, Path.Combine(target, "src"));
        // Once when a's files had asked for every blob of it, once at the end for the copies met after.
        remote.ReadsOfPack[dataPacks[0]].ShouldBe(2);
    }

    [Fact]
    public async Task An_include_that_an_exclude_hides_is_not_found_before_anything_is_written()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        fx.Write("a/one.txt", "1");
        fx.Write("c/three.txt", "3");
        var (snapshot, _) = await fx.BackupAsync();
        var repository = await fx.OpenAsync();
        var restorer = new Restorer(repository, repository, IRestoreProgress.None);
        var target = Path.Combine(fx.Root, "target");
        var options = new RestoreOptions
        {
            Target = target, Includes = ["/src/a", "/src/c"], Excludes = [new Arca.Sources.Files.Glob("/src/c")],
        };

        var ex = await Should.ThrowAsync<ArcaException>(() => restorer.CheckIncludesAsync(snapshot.Tree, options, CancellationToken.None));
        ex.Code.ShouldBe(ErrorCode.PathNotFound);
        ex.Message.ShouldContain("src/c");
        await restorer.CheckIncludesAsync(snapshot.Tree, options with { Excludes = [] }, CancellationToken.None);
        Directory.Exists(target).ShouldBeFalse();
    }

    [Fact]
    public async Task A_restore_whose_storage_fails_for_good_midway_leaves_only_whole_files()
    {
        PackReadsThatStopWorking? storage = null;
        using var fx = new EngineFixture(local => storage = new PackReadsThatStopWorking(local));
        await fx.CreateRepositoryAsync();
        var random = new Random(11);
        // Files of several chunks that spread over packs of 16 MiB: the first pack read starts some that it cannot finish.
        for (var i = 0; i < 8; i++)
        {
            var bytes = new byte[5_000_000];
            random.NextBytes(bytes);
            fx.Write($"big/f{i}.bin", bytes);
        }
        for (var i = 0; i < 100; i++)
        {
            fx.Write($"small/s{i}.txt", $"small file {i}");
        }
        var (snapshot, _) = await fx.BackupAsync();
        var repository = await fx.OpenAsync();
        var dataPacks = repository.Index.ByPack().Where(p => p.Value.Any(b => b.Type == BlobType.Data)).Select(p => p.Key.ToString()).ToHashSet();
        dataPacks.Count.ShouldBeGreaterThan(2);

        // The trees still read; of the packs of file content, the first read works and the rest fail.
        storage!.FailAfter(dataPacks, 1);
        var target = Path.Combine(fx.Root, "target");
        var failure = await Should.ThrowAsync<StorageException>(() => fx.RestoreAsync(snapshot, new RestoreOptions { Target = target, Workers = 1 }));
        failure.IsTransient.ShouldBeFalse();

        // Whatever is there is whole and right: the files the failure cut short were deleted, temporary names included.
        var left = Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).ToList();
        left.ShouldNotBeEmpty("the first pack's files should be whole");
        left.Count.ShouldBeLessThan(108, "every file was restored before the failure, so this test shows nothing");
        foreach (var file in left)
        {
            var relative = Path.GetRelativePath(Path.Combine(target, "src"), file);
            File.ReadAllBytes(file).ShouldBe(File.ReadAllBytes(Path.Combine(fx.Source, relative)), relative);
        }
    }

    /// <summary>Storage whose reads of some packs fail for good (not worth a retry) once a number of them have worked.</summary>
    private sealed class PackReadsThatStopWorking(IStorage inner) : IStorage
    {
        private HashSet<string> _failing = [];
        private int _readsLeft;

        public void FailAfter(HashSet<string> packs, int reads)
        {
            _failing = packs;
            _readsLeft = reads;
        }

        public StorageProperties Properties => inner.Properties;

        public Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken) => inner.PutAsync(key, content, cancellationToken);

        public Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume, CancellationToken cancellationToken) =>
            key.Kind == StorageKind.Pack && _failing.Contains(key.Name) && Interlocked.Decrement(ref _readsLeft) < 0
                ? throw new StorageException($"Reading {key} failed: the store went away.", isTransient: false)
                : inner.ReadAsync(key, offset, length, consume, cancellationToken);

        public Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

        public IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind, CancellationToken cancellationToken) => inner.ListAsync(kind, cancellationToken);

        public Task DeleteAsync(StorageKey key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        public Task<IStagedFile> StageAsync(StorageKind kind, CancellationToken cancellationToken) => inner.StageAsync(kind, cancellationToken);
    }
}
