using System.Globalization;
using System.Text.Json;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// init, backup, snapshots, restore and check, end to end: in process and through the built program. Runs once
/// per <see cref="Cli.Tests.Backend"/> (restic's backend test suite idea): the sealed classes below pick it.
/// </summary>
public abstract class RoundTripTests
{
    protected abstract Backend Backend { get; }

    private const int ThreeMiB = 3 * 1024 * 1024;

    /// <summary>Files, nested and empty folders, symlinks (one dangling), an empty file, modes 0600/0755/0700, a 3 MiB random file.</summary>
    internal static TreeFixture MixedTree() => new TreeFixture()
        .File("readme.txt", "hello, arca\n")
        .File("empty.txt", "")
        .File("docs/nested/deep/note.md", "# deep\n\nsome text\n")
        .File("docs/guide.md", "guide\n")
        .File("secret.key", "not for others\n", mode: TreeFixture.Mode("0600"))
        .File("bin/run.sh", "#!/bin/sh\necho hi\n", mode: TreeFixture.Mode("0755"))
        .RandomFile("data/big.bin", ThreeMiB, seed: 42)
        .Symlink("current", "data/big.bin")
        .Symlink("dangling", "does/not/exist")
        .Directory("empty-folder")
        .Directory("private", mode: TreeFixture.Mode("0700"))
        .File("private/diary.txt", "dear diary\n", mtimeNs: 1_234_567_890_987_654_321);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Backup_then_restore_gives_back_an_identical_tree(bool builtProgram)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        MixedTree().CreateIn(sandbox.Source);
        await sandbox.InitAsync(builtProgram);

        var backup = await sandbox.RunAsync(builtProgram, "backup", sandbox.Source, "--tag", "first", "--json");
        backup.ShouldSucceed();
        string id;
        using (var json = backup.Json())
        {
            id = json.RootElement.GetProperty("snapshot_id").GetString()!;
        }

        var target = sandbox.Path("restored");
        (await sandbox.RunAsync(builtProgram, "restore", "latest", "--target", target)).ShouldSucceed();
        TreeAssert.Identical(sandbox.Source, Path.Combine(target, "src"));
        Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName).ShouldBe(["src"]);

        var byId = sandbox.Path("restored-by-id");
        (await sandbox.RunAsync(builtProgram, "restore", id[..10], "--target", byId)).ShouldSucceed();
        TreeAssert.Identical(sandbox.Source, Path.Combine(byId, "src"));

        (await sandbox.RunAsync(builtProgram, "check", "--read-data")).ShouldSucceed();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Snapshots_json_lists_each_snapshot_with_id_time_host_paths_and_tags(bool builtProgram)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        new TreeFixture().File("a.txt", "a").CreateIn(sandbox.Source);
        await sandbox.InitAsync(builtProgram);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        (await sandbox.RunAsync(builtProgram, "backup", sandbox.Source, "--tag", "daily", "--tag", "pre-upgrade", "--host", "box-1")).ShouldSucceed();
        (await sandbox.RunAsync(builtProgram, "backup", sandbox.Source)).ShouldSucceed();
        var after = DateTimeOffset.UtcNow.AddSeconds(1);

        var result = await sandbox.RunAsync(builtProgram, "snapshots", "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        json.RootElement.ValueKind.ShouldBe(JsonValueKind.Array);
        var snapshots = json.RootElement.EnumerateArray().ToList();
        snapshots.Count.ShouldBe(2);
        foreach (var s in snapshots)
        {
            s.ValueKind.ShouldBe(JsonValueKind.Object);
            s.GetProperty("id").GetString()!.ShouldMatch("^[0-9a-f]{64}$");
            var time = DateTimeOffset.Parse(s.GetProperty("time").GetString()!, CultureInfo.InvariantCulture);
            time.ShouldBeInRange(before, after);
            s.GetProperty("hostname").GetString().ShouldNotBeNullOrWhiteSpace();
            s.GetProperty("paths").EnumerateArray().Select(p => p.GetString()).ShouldBe([sandbox.Source]);
            s.GetProperty("tags").ValueKind.ShouldBe(JsonValueKind.Array);
        }
        snapshots[0].GetProperty("hostname").GetString().ShouldBe("box-1");
        snapshots[0].GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ShouldBe(["daily", "pre-upgrade"]);
        snapshots[1].GetProperty("hostname").GetString().ShouldBe(Environment.MachineName);
        snapshots[1].GetProperty("tags").GetArrayLength().ShouldBe(0);
        snapshots.Select(s => s.GetProperty("id").GetString()).Distinct().Count().ShouldBe(2);
    }

    [Fact]
    public async Task Ls_json_lists_every_entry_of_the_snapshot_with_its_type_mode_and_target()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(MixedTree());

        var result = await sandbox.RunAsync("ls", "latest", "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        var nodes = json.RootElement.GetProperty("nodes").EnumerateArray()
            .ToDictionary(n => n.GetProperty("path").GetString()!, n => n);
        nodes.Keys.Order(StringComparer.Ordinal).ShouldBe(
        [
            "/src", "/src/bin", "/src/bin/run.sh", "/src/current", "/src/dangling", "/src/data", "/src/data/big.bin",
            "/src/docs", "/src/docs/guide.md", "/src/docs/nested", "/src/docs/nested/deep", "/src/docs/nested/deep/note.md",
            "/src/empty-folder", "/src/empty.txt", "/src/private", "/src/private/diary.txt", "/src/readme.txt", "/src/secret.key",
        ]);
        nodes["/src/data/big.bin"].GetProperty("type").GetString().ShouldBe("file");
        nodes["/src/data/big.bin"].GetProperty("size").GetInt64().ShouldBe(ThreeMiB);
        nodes["/src/secret.key"].GetProperty("mode").GetInt32().ShouldBe(Convert.ToInt32("600", 8));
        nodes["/src/bin/run.sh"].GetProperty("mode").GetInt32().ShouldBe(Convert.ToInt32("755", 8));
        nodes["/src/current"].GetProperty("type").GetString().ShouldBe("symlink");
        nodes["/src/current"].GetProperty("target").GetString().ShouldBe("data/big.bin");
        nodes["/src/empty-folder"].GetProperty("type").GetString().ShouldBe("dir");

        var sub = await sandbox.RunAsync("ls", "latest", "/src/docs/nested", "--json");
        sub.ShouldSucceed();
        using var subJson = sub.Json();
        subJson.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("path").GetString())
            .ShouldBe(["/src/docs/nested", "/src/docs/nested/deep", "/src/docs/nested/deep/note.md"]);
    }

    [Fact]
    public async Task Check_with_a_read_data_subset_succeeds_on_a_whole_repository()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(MixedTree());

        (await sandbox.RunAsync("check")).ShouldSucceed();
        (await sandbox.RunAsync("check", "--read-data-subset", "50%")).ShouldSucceed();
        var json = await sandbox.RunAsync("check", "--read-data", "--json");
        json.ShouldSucceed();
        using var document = json.Json();
        document.RootElement.GetProperty("ok").GetBoolean().ShouldBeTrue();
        document.RootElement.GetProperty("snapshots").GetInt32().ShouldBe(1);
        document.RootElement.GetProperty("packs_read").GetInt32().ShouldBe(document.RootElement.GetProperty("packs").GetInt32());
    }

    [Fact]
    public async Task Latest_as_of_a_time_between_two_backups_picks_the_first_snapshot()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        new TreeFixture().File("a.txt", "one").CreateIn(sandbox.Source);
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));
        var runner = sandbox.CreateRunner(clock);
        (await runner.RunAsync("init")).ShouldSucceed();
        var first = await BackupIdAsync(runner, sandbox.Source);
        clock.Advance(TimeSpan.FromDays(1));
        File.WriteAllText(Path.Combine(sandbox.Source, "a.txt"), "two");
        var second = await BackupIdAsync(runner, sandbox.Source);

        (await SnapshotOfAsync(runner, "ls", "--as-of", "2026-03-01T12:00:00Z", "--json")).ShouldBe(first);
        (await SnapshotOfAsync(runner, "ls", "latest", "--as-of", "2026-03-02T10:00:00Z", "--json")).ShouldBe(second);
        (await SnapshotOfAsync(runner, "ls", "latest", "--json")).ShouldBe(second);
        (await runner.RunAsync("ls", "--as-of", "2026-02-28T00:00:00Z")).ShouldFailWith(ExitCodes.SnapshotNotFound);
    }

    [Theory]
    [InlineData("2026-03-01T11:30+02:00", "2026-03-01T12:30+02:00")]
    [InlineData("2026-03-01T11:30:00+02:00", "2026-03-01T12:30:00+02:00")]
    [InlineData("2026-03-01T04:30-05:00", "2026-03-01T05:30-05:00")]
    [InlineData("2026-03-01T04:30:00-05:00", "2026-03-01T05:30:00-05:00")]
    [InlineData("2026-03-01T09:30Z", "2026-03-01T10:30Z")]
    public async Task As_of_a_time_with_an_offset_is_read_in_that_offset(string halfAnHourBefore, string halfAnHourAfter)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        new TreeFixture().File("a.txt", "one").CreateIn(sandbox.Source);
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));
        var runner = sandbox.CreateRunner(clock);
        (await runner.RunAsync("init")).ShouldSucceed();
        var id = await BackupIdAsync(runner, sandbox.Source);

        // The only snapshot is from 10:00 UTC, however the times around it are written.
        (await runner.RunAsync("ls", "--as-of", halfAnHourBefore)).ShouldFailWith(ExitCodes.SnapshotNotFound);
        (await SnapshotOfAsync(runner, "ls", "--as-of", halfAnHourAfter, "--json")).ShouldBe(id);
    }

    private static async Task<string> BackupIdAsync(CliRunner runner, string path)
    {
        var result = await runner.RunAsync("backup", path, "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        return json.RootElement.GetProperty("snapshot_id").GetString()!;
    }

    private static async Task<string> SnapshotOfAsync(CliRunner runner, params string[] args)
    {
        var result = await runner.RunAsync(args);
        result.ShouldSucceed();
        using var json = result.Json();
        return json.RootElement.GetProperty("snapshot").GetString()!;
    }
}

public sealed class RoundTripTestsOnLocal : RoundTripTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class RoundTripTestsOnS3 : RoundTripTests
{
    protected override Backend Backend => Backend.S3;
}
