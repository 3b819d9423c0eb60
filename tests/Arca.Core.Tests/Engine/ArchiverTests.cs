using System.Diagnostics;
using Arca.Backup;
using Arca.Repo;
using Arca.Restore;
using Arca.Sources.Files;

namespace Arca.Core.Tests.Engine;

public sealed class ArchiverTests
{
    [Fact]
    public async Task An_unchanged_tree_is_not_read_again_and_adds_no_data_blobs()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        fx.Write("a.txt", "alpha");
        fx.Write("sub/b.bin", new byte[3 << 20]);
        var (first, _) = await fx.BackupAsync();
        first.Summary!.FilesNew.ShouldBe(2);
        first.Summary.DataBlobsAdded.ShouldBeGreaterThan(0);

        var (second, _) = await fx.BackupAsync(first);
        second.Summary!.FilesUnmodified.ShouldBe(2);
        second.Summary.FilesNew.ShouldBe(0);
        second.Summary.DataBlobsAdded.ShouldBe(0);
        second.Summary.TreeBlobsAdded.ShouldBe(0);
        second.Tree.ShouldBe(first.Tree);
    }

    [Fact]
    public async Task Trees_are_stored_in_packs_that_hold_no_file_content()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        for (var i = 0; i < 20; i++)
        {
            fx.Write($"d{i}/small.txt", $"file {i}");
            fx.Write($"d{i}/e/deeper.txt", $"deeper {i}");
        }
        await fx.BackupAsync();

        var repository = await fx.OpenAsync();
        var packs = repository.Index.ByPack();
        var types = packs.Values.Select(blobs => blobs.Select(b => b.Type).Distinct().ToList()).ToList();
        types.ShouldAllBe(t => t.Count == 1);
        types.Count(t => t[0] == BlobType.Tree).ShouldBe(1);
        types.Count(t => t[0] == BlobType.Data).ShouldBe(1);
        packs.Values.SelectMany(b => b).Count(b => b.Type == BlobType.Tree).ShouldBeGreaterThan(20 * 2);
    }

    [Fact]
    public async Task A_file_rewritten_with_the_same_size_is_read_again()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        fx.Write("a.txt", "alpha");
        var (first, _) = await fx.BackupAsync();
        fx.Write("a.txt", "omega");
        var (second, _) = await fx.BackupAsync(first);
        second.Summary!.FilesChanged.ShouldBe(1);
        second.Summary.DataBlobsAdded.ShouldBe(1);
        second.Tree.ShouldNotBe(first.Tree);
    }

    [Fact]
    public async Task Excluded_entries_are_left_out()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        fx.Write("keep.txt", "k");
        fx.Write("drop.tmp", "d");
        fx.Write("cache/x.txt", "x");
        var (snapshot, _) = await fx.BackupAsync(options: new ArchiverOptions { Excludes = [new Glob("*.tmp"), new Glob("cache")] });
        snapshot.Summary!.TotalFiles.ShouldBe(1);
        var target = Path.Combine(fx.Root, "out");
        await fx.RestoreAsync(snapshot, new RestoreOptions { Target = target });
        File.Exists(Path.Combine(target, "src", "keep.txt")).ShouldBeTrue();
        File.Exists(Path.Combine(target, "src", "drop.tmp")).ShouldBeFalse();
        Directory.Exists(Path.Combine(target, "src", "cache")).ShouldBeFalse();
    }

    [Fact]
    public async Task A_special_file_is_reported_and_the_snapshot_is_partial()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        fx.Write("a.txt", "alpha");
        using (var mkfifo = Process.Start("mkfifo", Path.Combine(fx.Source, "pipe")))
        {
            await mkfifo.WaitForExitAsync();
            mkfifo.ExitCode.ShouldBe(0);
        }
        var (snapshot, _) = await fx.BackupAsync();
        snapshot.Summary!.Partial.ShouldBeTrue();
        snapshot.Summary.Errors.Single().Path.ShouldEndWith("/pipe");
        snapshot.Summary.TotalFiles.ShouldBe(1);
    }

    [Fact]
    public async Task Identical_content_in_two_files_is_stored_once()
    {
        using var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        var data = new byte[2 << 20];
        new Random(5).NextBytes(data);
        fx.Write("one.bin", data);
        fx.Write("two.bin", data);
        var (snapshot, _) = await fx.BackupAsync();
        snapshot.Summary!.BytesAdded.ShouldBeLessThan(data.Length + 4096);
    }
}
