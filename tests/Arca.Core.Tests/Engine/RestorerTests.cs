using Arca.Native;
using Arca.Repo;
using Arca.Restore;
using Arca.Storage;

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
}
