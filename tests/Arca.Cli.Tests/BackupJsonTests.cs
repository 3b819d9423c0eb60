using System.Text.Json;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// The shape of `backup --json`, and what a backup of an unchanged tree adds (nothing but a tree and a snapshot).
/// Runs once per <see cref="Cli.Tests.Backend"/>.
/// </summary>
public abstract class BackupJsonTests
{
    protected abstract Backend Backend { get; }

    private static TreeFixture Tree() => new TreeFixture()
        .File("a.txt", "alpha\n")
        .File("b.txt", "bravo bravo\n")
        .File("sub/c.txt", "charlie\n")
        .File("sub/empty", "")
        .RandomFile("sub/random.bin", 200_000, seed: 7);

    private const long TreeBytes = 6 + 12 + 8 + 0 + 200_000;

    [Fact]
    public async Task Backup_json_reports_the_snapshot_id_and_what_was_added()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        Tree().CreateIn(sandbox.Source);
        await sandbox.InitAsync();

        var result = await sandbox.RunAsync("backup", sandbox.Source, "--json");
        result.ShouldSucceed();
        result.Error.ShouldBeEmpty();
        using var json = result.Json();
        var root = json.RootElement;
        root.ValueKind.ShouldBe(JsonValueKind.Object);
        root.GetProperty("snapshot_id").GetString()!.ShouldMatch("^[0-9a-f]{64}$");
        root.TryGetProperty("parent", out _).ShouldBeFalse("the first snapshot has no parent");
        root.GetProperty("files_new").GetInt64().ShouldBe(5);
        root.GetProperty("files_changed").GetInt64().ShouldBe(0);
        root.GetProperty("files_unmodified").GetInt64().ShouldBe(0);
        root.GetProperty("total_files").GetInt64().ShouldBe(5);
        root.GetProperty("dirs").GetInt64().ShouldBe(2);
        root.GetProperty("total_bytes").GetInt64().ShouldBe(TreeBytes);
        root.GetProperty("data_blobs_added").GetInt64().ShouldBeGreaterThanOrEqualTo(4, "four distinct non-empty files");
        root.GetProperty("tree_blobs_added").GetInt64().ShouldBeGreaterThanOrEqualTo(2);
        root.GetProperty("bytes_added").GetInt64().ShouldBeGreaterThanOrEqualTo(TreeBytes);
        root.GetProperty("bytes_added_stored").GetInt64().ShouldBeGreaterThan(0);
        root.GetProperty("duration_seconds").GetDouble().ShouldBeGreaterThanOrEqualTo(0);
        root.GetProperty("partial").GetBoolean().ShouldBeFalse();
        root.GetProperty("errors").GetArrayLength().ShouldBe(0);

        (await sandbox.SnapshotIdsAsync()).ShouldBe([root.GetProperty("snapshot_id").GetString()!]);
    }

    [Fact]
    public async Task A_second_backup_of_an_unchanged_tree_adds_no_data()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        var first = await sandbox.InitAndBackupAsync(Tree());

        var result = await sandbox.RunAsync("backup", sandbox.Source, "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        var root = json.RootElement;
        root.GetProperty("parent").GetString().ShouldBe(first);
        root.GetProperty("snapshot_id").GetString().ShouldNotBe(first);
        root.GetProperty("files_unmodified").GetInt64().ShouldBe(root.GetProperty("total_files").GetInt64());
        root.GetProperty("total_files").GetInt64().ShouldBe(5);
        root.GetProperty("files_new").GetInt64().ShouldBe(0);
        root.GetProperty("files_changed").GetInt64().ShouldBe(0);
        root.GetProperty("data_blobs_added").GetInt64().ShouldBe(0);
        root.GetProperty("total_bytes").GetInt64().ShouldBe(TreeBytes);
        root.GetProperty("partial").GetBoolean().ShouldBeFalse();

        (await sandbox.SnapshotIdsAsync()).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_backup_after_one_file_changed_counts_it_as_changed_and_the_rest_as_unmodified()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        File.WriteAllText(Path.Combine(sandbox.Source, "sub", "c.txt"), "charlie, changed\n");
        File.WriteAllText(Path.Combine(sandbox.Source, "new.txt"), "new\n");

        var result = await sandbox.RunAsync("backup", sandbox.Source, "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        var root = json.RootElement;
        root.GetProperty("files_new").GetInt64().ShouldBe(1);
        root.GetProperty("files_changed").GetInt64().ShouldBe(1);
        root.GetProperty("files_unmodified").GetInt64().ShouldBe(4);
        root.GetProperty("total_files").GetInt64().ShouldBe(6);
        root.GetProperty("data_blobs_added").GetInt64().ShouldBe(2);
    }

    [Fact]
    public async Task Backup_exclude_leaves_matching_entries_out_of_the_snapshot()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        new TreeFixture()
            .File("keep.txt", "keep")
            .File("drop.tmp", "drop")
            .File("cache/blob", "cached")
            .File("sub/also.tmp", "drop too")
            .CreateIn(sandbox.Source);
        await sandbox.InitAsync();

        var result = await sandbox.RunAsync("backup", sandbox.Source, "--exclude", "*.tmp", "--exclude", "cache", "--json");
        result.ShouldSucceed();

        var ls = await sandbox.RunAsync("ls", "latest", "--json");
        ls.ShouldSucceed();
        using var json = ls.Json();
        json.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("path").GetString())
            .ShouldBe(["/src", "/src/keep.txt", "/src/sub"]);
    }
}

public sealed class BackupJsonTestsOnLocal : BackupJsonTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class BackupJsonTestsOnS3 : BackupJsonTests
{
    protected override Backend Backend => Backend.S3;
}
