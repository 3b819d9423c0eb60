using System.Security.Cryptography;
using Arca.Repo;
using Arca.Repo.Packs;
using Arca.Restore;
using Arca.TestKit;

namespace Arca.Core.Tests.Engine;

/// <summary>
/// The local cache of a remote repository's tree packs, on a real folder that says it is remote: backups fill
/// it, walks of snapshots read trees from it instead of the repository, a bad copy is fetched again, and prune
/// drops the copies of what it deleted.
/// </summary>
public sealed class PackCacheTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly EngineFixture _fixture = new(local => new CountingRemoteStorage(local));

    private CountingRemoteStorage Remote => (CountingRemoteStorage)_fixture.RepositoryStorage;

    private string CacheRoot => Path.Combine(_fixture.Root, "cache");

    public void Dispose() => _fixture.Dispose();

    private void WriteTree(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 30; i++)
        {
            var bytes = new byte[random.Next(100, 20_000)];
            random.NextBytes(bytes);
            _fixture.Write($"d{i % 6}/e{i % 3}/f{i}.bin", bytes);
        }
    }

    /// <summary>The packs of the repository whose blobs are all trees.</summary>
    private static HashSet<string> TreePacks(Repository repository) =>
        [.. repository.Index.ByPack().Where(p => p.Value.All(b => b.Type == BlobType.Tree)).Select(p => p.Key.ToString())];

    private List<string> CachedFiles(Repository repository) =>
        [.. Directory.EnumerateFiles(Path.Combine(CacheRoot, repository.Id, "packs")).Select(f => Path.GetFileName(f)!).Order()];

    /// <summary>Loads every tree of every snapshot, as a restore's plan or prune would.</summary>
    private static async Task<int> WalkAsync(Repository repository)
    {
        var seen = new HashSet<BlobId>();
        var pending = new Stack<BlobId>((await repository.LoadAllSnapshotsAsync(None)).Select(s => s.Snapshot.Tree));
        while (pending.TryPop(out var id))
        {
            if (!seen.Add(id))
            {
                continue;
            }
            foreach (var node in (await repository.LoadTreeAsync(id, None)).Nodes)
            {
                if (node.Subtree is { } subtree)
                {
                    pending.Push(subtree);
                }
            }
        }
        return seen.Count;
    }

    /// <summary>Flips bits all through a file, as a rotting disk or a hand edit would.</summary>
    private static void Corrupt(string path, int every)
    {
        var bytes = File.ReadAllBytes(path);
        for (var i = 0; i < bytes.Length; i += every)
        {
            bytes[i] ^= 0x5a;
        }
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Restores <paramref name="snapshot"/> into a new folder and requires it to be the source, whole and without errors.</summary>
    private async Task ShouldRestoreTheSourceAsync(Arca.Trees.Snapshot snapshot)
    {
        var target = Path.Combine(_fixture.Root, "out-" + Guid.NewGuid().ToString("N")[..6]);
        (await _fixture.RestoreAsync(snapshot, new RestoreOptions { Target = target })).Errors.ShouldBeEmpty();
        TreeAssert.Identical(_fixture.Source, Path.Combine(target, Path.GetFileName(_fixture.Source)));
    }

    /// <summary>
    /// A backup of tree <paramref name="seed"/>, then one without folder d1 (and with tree <paramref name="secondSeed"/> written
    /// over it, if given), with the first snapshot forgotten: the unchanged folders' trees stay needed in the first tree pack.
    /// </summary>
    private async Task<Arca.Trees.Snapshot> TwoBackupsFirstForgottenAsync(int seed, int? secondSeed = null)
    {
        _fixture.CacheRoot = CacheRoot;
        await _fixture.CreateRepositoryAsync();
        WriteTree(seed);
        var (_, first) = await _fixture.BackupAsync();
        Directory.Delete(Path.Combine(_fixture.Source, "d1"), recursive: true);
        if (secondSeed is { } more)
        {
            WriteTree(more);
        }
        var (kept, _) = await _fixture.BackupAsync();
        var repository = await _fixture.OpenAsync();
        CachedFiles(repository).Count.ShouldBe(2);
        await repository.ForgetSnapshotAsync(first, None);
        return kept;
    }

    [Fact]
    public async Task A_backup_keeps_copies_of_its_tree_packs_and_a_walk_then_reads_no_pack_from_the_repository()
    {
        _fixture.CacheRoot = CacheRoot;
        await _fixture.CreateRepositoryAsync();
        WriteTree(1);
        await _fixture.BackupAsync();

        var repository = await _fixture.OpenAsync();
        var cached = CachedFiles(repository);
        cached.ShouldBe(TreePacks(repository).Order().ToList());
        foreach (var name in cached)
        {
            Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(CacheRoot, repository.Id, "packs", name)))).ShouldBe(name);
        }
        Remote.PackReads = 0;
        (await WalkAsync(repository)).ShouldBeGreaterThan(6);
        Remote.PackReads.ShouldBe(0);
    }

    [Fact]
    public async Task An_empty_cache_fetches_each_tree_pack_once_whole()
    {
        await _fixture.CreateRepositoryAsync();
        WriteTree(2);
        await _fixture.BackupAsync();
        WriteTree(3);
        await _fixture.BackupAsync();

        _fixture.CacheRoot = CacheRoot;
        var repository = await _fixture.OpenAsync();
        Remote.PackReads = 0;
        await WalkAsync(repository);
        Remote.PackReads.ShouldBe(2);
        CachedFiles(repository).ShouldBe(TreePacks(repository).Order().ToList());

        Remote.PackReads = 0;
        await WalkAsync(await _fixture.OpenAsync());
        Remote.PackReads.ShouldBe(0);
    }

    [Fact]
    public async Task A_damaged_copy_is_read_past_from_the_repository_and_fetched_again()
    {
        _fixture.CacheRoot = CacheRoot;
        await _fixture.CreateRepositoryAsync();
        WriteTree(4);
        var (snapshot, _) = await _fixture.BackupAsync();
        var repository = await _fixture.OpenAsync();
        var path = Path.Combine(CacheRoot, repository.Id, "packs", CachedFiles(repository).Single());
        Corrupt(path, every: 97);

        await ShouldRestoreTheSourceAsync(snapshot);

        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))).ShouldBe(Path.GetFileName(path));
    }

    [Fact]
    public async Task Prune_drops_the_copies_of_the_packs_it_deletes_and_keeps_those_of_the_packs_that_stay()
    {
        var kept = await TwoBackupsFirstForgottenAsync(5, secondSeed: 6);

        var pruning = await _fixture.OpenAsync();
        await new Pruner(pruning).PruneAsync(new PruneOptions(MaxUnused: 0), null, None);

        var after = await _fixture.OpenAsync();
        CachedFiles(after).ShouldBe(TreePacks(after).Order().ToList());
        Remote.PackReads = 0;
        await WalkAsync(after);
        Remote.PackReads.ShouldBe(0);
        await ShouldRestoreTheSourceAsync(kept);
    }

    [Fact]
    public void The_index_tells_a_pack_of_nothing_but_trees_from_one_that_mixes_trees_with_content()
    {
        static BlobId Id() => new(new Hash256(RandomNumberGenerator.GetBytes(32)));
        static PackId Pack() => new(new Hash256(RandomNumberGenerator.GetBytes(32)));
        var (trees, mixed, unknown) = (Pack(), Pack(), Pack());
        var index = new Arca.Repo.Index.BlobIndex();
        index.AddPack(trees, [new(Id(), BlobType.Tree, true, 0, 100, 300), new(Id(), BlobType.Tree, true, 100, 80, 200)]);
        index.AddPack(mixed, [new(Id(), BlobType.Tree, true, 0, 100, 300), new(Id(), BlobType.Data, true, 100, 900, 1000)]);

        index.HoldsOnly(trees, BlobType.Tree).ShouldBeTrue();
        index.HoldsOnly(mixed, BlobType.Tree).ShouldBeFalse();
        index.HoldsOnly(mixed, BlobType.Data).ShouldBeFalse();
        index.HoldsOnly(unknown, BlobType.Tree).ShouldBeFalse();
    }

    [Fact]
    public void A_cache_folder_that_cannot_be_made_means_no_cache()
    {
        var file = Path.Combine(_fixture.Root, "not-a-folder");
        File.WriteAllText(file, "x");
        PackCache.Open(file, "0123").ShouldBeNull();
        // The id comes from the unauthenticated config: anything but a hex name means no cache, not a folder elsewhere.
        PackCache.Open(CacheRoot, "../elsewhere").ShouldBeNull();
        PackCache.Open(CacheRoot, "/tmp").ShouldBeNull();
        PackCache.Open(CacheRoot, "").ShouldBeNull();
        Directory.Exists(Path.Combine(_fixture.Root, "elsewhere")).ShouldBeFalse();
    }

    [Fact]
    public async Task Prune_reads_past_a_damaged_copy_of_a_tree_pack_it_repacks()
    {
        var kept = await TwoBackupsFirstForgottenAsync(7);
        var repository = await _fixture.OpenAsync();
        foreach (var path in Directory.EnumerateFiles(Path.Combine(CacheRoot, repository.Id, "packs")))
        {
            Corrupt(path, every: 61);
        }

        // The first backup's tree pack is partly used (the unchanged folders' trees): it is repacked, and its copy is bad.
        var result = await new Pruner(await _fixture.OpenAsync()).PruneAsync(new PruneOptions(MaxUnused: 0), null, None);

        result.PacksToRepack.ShouldBeGreaterThan(0);
        var check = await new Checker(await Repository.OpenAsync(_fixture.Storage, "pw", None)).CheckAsync(1.0, None);
        check.Problems.ShouldBeEmpty();
        check.DamagedPacks.ShouldBeEmpty();
        await ShouldRestoreTheSourceAsync(kept);
    }

    [Fact]
    public void The_default_folder_follows_ARCA_CACHE_DIR_then_XDG_CACHE_HOME_then_HOME()
    {
        PackCache.DefaultRoot(n => n switch { "ARCA_CACHE_DIR" => "/c", "XDG_CACHE_HOME" => "/x", "HOME" => "/h", _ => null }).ShouldBe("/c");
        PackCache.DefaultRoot(n => n switch { "XDG_CACHE_HOME" => "/x", "HOME" => "/h", _ => null }).ShouldBe("/x/arca");
        PackCache.DefaultRoot(n => n == "HOME" ? "/h" : null).ShouldBe("/h/.cache/arca");
        PackCache.DefaultRoot(_ => null).ShouldBeNull();
    }
}
