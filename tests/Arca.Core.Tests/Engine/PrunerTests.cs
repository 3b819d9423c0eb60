using System.Security.Cryptography;
using Arca.Repo;
using Arca.Repo.Format;
using Arca.Restore;
using Arca.Storage;
using Arca.TestKit;

namespace Arca.Core.Tests.Engine;

public sealed class PrunerTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly EngineFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private async Task<List<string>> NamesAsync(StorageKind kind)
    {
        var names = new List<string>();
        await foreach (var entry in _fixture.Storage.ListAsync(kind, None))
        {
            names.Add(entry.Key.Name);
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private async Task<PruneResult> PruneAsync(PruneOptions options)
    {
        var repository = await _fixture.OpenAsync();
        return await new Pruner(repository).PruneAsync(options, null, None);
    }

    private async Task ShouldCheckWholeAsync()
    {
        var repository = await Repository.OpenAsync(_fixture.Storage, "pw", None);
        var check = await new Checker(repository).CheckAsync(1.0, None);
        check.Problems.ShouldBeEmpty();
        check.DamagedPacks.ShouldBeEmpty();
        check.UnreferencedPacks.ShouldBe(0);
    }

    private async Task ShouldRestoreAsync(Arca.Trees.Snapshot snapshot, string expectedSource)
    {
        var target = Path.Combine(_fixture.Root, "restore-" + Guid.NewGuid().ToString("N")[..6]);
        var result = await _fixture.RestoreAsync(snapshot, new RestoreOptions { Target = target });
        result.Errors.ShouldBeEmpty();
        TreeAssert.Identical(expectedSource, Path.Combine(target, Path.GetFileName(_fixture.Source)));
    }

    /// <summary>Snapshot 1 holds keep.bin and gone.bin; snapshot 2 only keep.bin and new.bin. Forgetting 1 leaves gone.bin unused.</summary>
    private async Task<(Arca.Trees.Snapshot Kept, Arca.Repo.SnapshotId Forgotten, string Copy)> TwoSnapshotsOneForgottenAsync()
    {
        await _fixture.CreateRepositoryAsync();
        _fixture.Write("keep.bin", Random(3 << 20, 1));
        _fixture.Write("gone.bin", Random(3 << 20, 2));
        var (_, first) = await _fixture.BackupAsync();
        File.Delete(Path.Combine(_fixture.Source, "gone.bin"));
        _fixture.Write("new.bin", Random(1 << 20, 3));
        var (kept, _) = await _fixture.BackupAsync();
        var repository = await _fixture.OpenAsync();
        await repository.ForgetSnapshotAsync(first, None);
        // The source stays as the kept snapshot saw it: it is what a restore must give back.
        return (kept, first, _fixture.Source);
    }

    [Fact]
    public async Task Data_only_a_forgotten_snapshot_used_is_repacked_away_and_the_rest_restores()
    {
        var (kept, _, expected) = await TwoSnapshotsOneForgottenAsync();
        var before = await NamesAsync(StorageKind.Pack);

        var result = await PruneAsync(new PruneOptions(MaxUnused: 0));

        result.Snapshots.ShouldBe(1);
        result.PacksToRepack.ShouldBe(1);
        result.BytesToFree.ShouldBeGreaterThan(3L << 20);
        result.BytesFreed.ShouldBeGreaterThan(3L << 20);
        result.PacksWritten.ShouldBe(1);
        // Gone: the first backup's data pack (repacked) and its tree pack (no kept snapshot needs its trees).
        result.PacksToDelete.ShouldBe(1);
        var after = await NamesAsync(StorageKind.Pack);
        after.Intersect(before).Count().ShouldBe(before.Count - 2);
        (await NamesAsync(StorageKind.Index)).Count.ShouldBe(1);
        await ShouldCheckWholeAsync();
        await ShouldRestoreAsync(kept, expected);
    }

    [Fact]
    public async Task Within_the_unused_allowance_partly_used_packs_stay()
    {
        var (kept, _, expected) = await TwoSnapshotsOneForgottenAsync();
        var before = await NamesAsync(StorageKind.Pack);

        // About 3 MiB of 7 MiB unused: a 90% allowance lets it stay.
        var result = await PruneAsync(new PruneOptions(MaxUnused: 0.9));

        result.PacksToRepack.ShouldBe(0);
        result.UnusedBytes.ShouldBeGreaterThan(3L << 20);
        // Only the forgotten snapshot's tree pack goes: nothing in it is needed.
        result.PacksToDelete.ShouldBe(1);
        var after = await NamesAsync(StorageKind.Pack);
        after.ShouldBeSubsetOf(before);
        after.Count.ShouldBe(before.Count - 1);
        await ShouldRestoreAsync(kept, expected);
    }

    [Fact]
    public async Task A_dry_run_reports_and_changes_nothing()
    {
        await TwoSnapshotsOneForgottenAsync();
        var before = TreeAssert.Capture(_fixture.Storage.Root);

        var result = await PruneAsync(new PruneOptions(MaxUnused: 0, DryRun: true));

        result.DryRun.ShouldBeTrue();
        result.PacksToRepack.ShouldBe(1);
        result.BytesToFree.ShouldBeGreaterThan(3L << 20);
        result.BytesFreed.ShouldBe(0);
        TreeAssert.Unchanged(before, _fixture.Storage.Root);
    }

    [Fact]
    public async Task Packs_no_snapshot_needs_are_deleted_whole()
    {
        await _fixture.CreateRepositoryAsync();
        _fixture.Write("a.bin", Random(2 << 20, 4));
        var (_, first) = await _fixture.BackupAsync();
        var repository = await _fixture.OpenAsync();
        await repository.ForgetSnapshotAsync(first, None);

        var result = await PruneAsync(new PruneOptions());

        result.Snapshots.ShouldBe(0);
        // Its data pack and its tree pack.
        result.PacksToDelete.ShouldBe(2);
        (await NamesAsync(StorageKind.Pack)).ShouldBeEmpty();
        (await NamesAsync(StorageKind.Index)).Count.ShouldBe(1);
        await ShouldCheckWholeAsync();
    }

    [Fact]
    public async Task A_pack_no_index_names_is_deleted()
    {
        await _fixture.CreateRepositoryAsync();
        _fixture.Write("a.bin", Random(1 << 20, 5));
        var (snapshot, _) = await _fixture.BackupAsync();
        // A pack left by a backup killed before its index was written: bytes under a name no index knows.
        var stray = RandomNumberGenerator.GetBytes(5000);
        await _fixture.Storage.PutBytesAsync(new StorageKey(StorageKind.Pack, Convert.ToHexStringLower(SHA256.HashData(stray))), stray, None);

        var result = await PruneAsync(new PruneOptions());

        result.UnreferencedPacks.ShouldBe(1);
        result.PacksToDelete.ShouldBe(1);
        // The backup's data pack and tree pack stay.
        (await NamesAsync(StorageKind.Pack)).Count.ShouldBe(2);
        await ShouldCheckWholeAsync();
        await ShouldRestoreAsync(snapshot, _fixture.Source);
    }

    [Fact]
    public async Task A_repository_missing_a_needed_blob_is_left_alone()
    {
        var (_, _, _) = await TwoSnapshotsOneForgottenAsync();
        var packs = await NamesAsync(StorageKind.Pack);
        // Lose the pack of the second backup's trees: the kept snapshot cannot be whole.
        var repository = await _fixture.OpenAsync();
        var snapshot = (await repository.LoadAllSnapshotsAsync(None)).Single().Snapshot;
        repository.Index.TryGet(snapshot.Tree, out var location).ShouldBeTrue();
        await _fixture.Storage.DeleteAsync(new StorageKey(StorageKind.Pack, location.Pack.ToString()), None);
        var before = TreeAssert.Capture(_fixture.Storage.Root);

        var error = await Should.ThrowAsync<ArcaException>(() => PruneAsync(new PruneOptions(MaxUnused: 0)));

        error.Code.ShouldBe(ErrorCode.RepositoryDamaged);
        error.Message.ShouldContain("prune changed nothing");
        TreeAssert.Unchanged(before, _fixture.Storage.Root);
        packs.Count.ShouldBeGreaterThan(1);
    }

    [Fact]
    public async Task A_second_prune_finds_nothing_to_do()
    {
        await TwoSnapshotsOneForgottenAsync();
        await PruneAsync(new PruneOptions(MaxUnused: 0));
        var before = TreeAssert.Capture(_fixture.Storage.Root);

        var result = await PruneAsync(new PruneOptions(MaxUnused: 0));

        result.PacksToDelete.ShouldBe(0);
        result.PacksToRepack.ShouldBe(0);
        TreeAssert.Unchanged(before, _fixture.Storage.Root);
    }

    [Fact]
    public async Task An_index_file_named_as_superseded_is_ignored_when_loading()
    {
        await _fixture.CreateRepositoryAsync();
        _fixture.Write("a.bin", Random(1 << 20, 6));
        await _fixture.BackupAsync();
        var oldName = (await NamesAsync(StorageKind.Index)).Single();
        var repository = await _fixture.OpenAsync();
        var packs = repository.IndexFiles.Single().File.Packs;
        // What a prune stopped between writing the new index and deleting the old one leaves behind.
        var bytes = SealedFile.Encode(repository.Key.Sealer, new IndexFile([Hash256.Parse(oldName)], packs).Encode(), compress: true);
        var newName = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await _fixture.Storage.PutBytesAsync(new StorageKey(StorageKind.Index, newName), bytes, None);

        var reopened = await _fixture.OpenAsync();

        reopened.IndexFiles.Select(f => f.Name).ShouldBe([newName]);
        reopened.SupersededIndexFiles.ShouldBe([oldName]);
        await ShouldCheckWholeAsync();
        await PruneAsync(new PruneOptions());
        (await NamesAsync(StorageKind.Index)).ShouldNotContain(oldName);
    }

    [Fact]
    public void Bad_allowances_are_refused()
    {
        Should.Throw<ArgumentException>(() => new PruneOptions(MaxUnused: 1).Validate());
        Should.Throw<ArgumentException>(() => new PruneOptions(MaxUnused: -0.1).Validate());
    }
}
