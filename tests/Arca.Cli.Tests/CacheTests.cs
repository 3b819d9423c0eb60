using Arca.Storage;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// The local cache of an S3 repository's tree packs, seen from the command line against the real S3 test server:
/// where it goes, that --no-cache keeps none, that it serves trees the bucket no longer has, and that check
/// still reads the bucket.
/// </summary>
public sealed class CacheTests
{
    /// <summary>The names of the packs in the cache (beside them, in keys/, is the hint of the key that opened the repository).</summary>
    private static List<string> Cached(CliSandbox sandbox)
    {
        var root = sandbox.Path("cache");
        return Directory.Exists(root)
            ? [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == "packs")
                .Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)]
            : [];
    }

    [Fact]
    public async Task A_backup_keeps_its_tree_packs_under_ARCA_CACHE_DIR_unless_told_no_cache()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.S3);
        sandbox.Runner.Environment["ARCA_CACHE_DIR"].ShouldBe(sandbox.Path("cache"));
        var source = sandbox.Path("data");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        await File.WriteAllTextAsync(Path.Combine(source, "sub", "a.txt"), "alpha");
        (await sandbox.RunAsync("init")).ShouldSucceed();

        (await sandbox.RunAsync("backup", "--no-cache", source)).ShouldSucceed();
        Directory.Exists(sandbox.Path("cache")).ShouldBeFalse(); // no packs, and no key hint either

        await File.WriteAllTextAsync(Path.Combine(source, "sub", "b.txt"), "beta");
        (await sandbox.RunAsync("backup", source)).ShouldSucceed();
        // Its own tree pack, and the first backup's, fetched whole to read the parent snapshot.
        var cached = Cached(sandbox);
        cached.Count.ShouldBe(2);
        cached.ShouldBeSubsetOf(await sandbox.PackNamesAsync());
        Directory.GetFiles(sandbox.Path("cache/keys")).ShouldHaveSingleItem();

        // Reading one snapshot fetches only the pack of its trees.
        Directory.Delete(sandbox.Path("cache"), recursive: true);
        var snapshots = await sandbox.SnapshotIdsAsync();
        (await sandbox.RunAsync("ls", snapshots[0])).ShouldSucceed();
        Cached(sandbox).ShouldHaveSingleItem().ShouldBeOneOf([.. cached]);
    }

    [Fact]
    public async Task Trees_come_from_the_cache_but_check_reads_the_bucket_and_names_a_lost_tree_pack()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.S3);
        var source = sandbox.Path("data");
        Directory.CreateDirectory(source);
        await File.WriteAllTextAsync(Path.Combine(source, "a.txt"), "alpha");
        (await sandbox.RunAsync("init")).ShouldSucceed();
        (await sandbox.RunAsync("backup", source)).ShouldSucceed();
        var treePack = Cached(sandbox).ShouldHaveSingleItem();
        await sandbox.OpenStorage().DeleteAsync(new StorageKey(StorageKind.Pack, treePack), CancellationToken.None);

        var ls = await sandbox.RunAsync("ls", "latest");
        ls.ShouldSucceed();
        ls.Out.ShouldContain("a.txt");

        var check = await sandbox.RunAsync("check");
        check.ExitCode.ShouldBe(15, check.ToString());
        check.Error.ShouldContain(treePack);
    }
}
