using System.Text.Json;
using Arca.Storage;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>forget, prune, key, diff and stats through the CLI, once per <see cref="Cli.Tests.Backend"/>.</summary>
public abstract class LifecycleTests
{
    protected abstract Backend Backend { get; }

    private static void WriteRandom(string path, int length, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public async Task Forget_dry_run_says_why_each_snapshot_stays_and_changes_nothing()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAsync();
        for (var i = 0; i < 3; i++)
        {
            WriteRandom(Path.Combine(sandbox.Source, $"f{i}.bin"), 1000, i);
            await sandbox.BackupAsync();
        }
        var before = await sandbox.CaptureAsync();

        var result = await sandbox.RunAsync("forget", "--keep-last", "2", "--dry-run", "--json");

        result.ShouldSucceed();
        using var json = result.Json();
        json.RootElement.GetProperty("dry_run").GetBoolean().ShouldBeTrue();
        json.RootElement.GetProperty("kept").GetInt32().ShouldBe(2);
        json.RootElement.GetProperty("removed").GetInt32().ShouldBe(1);
        var group = json.RootElement.GetProperty("groups").EnumerateArray().Single();
        group.GetProperty("keep").EnumerateArray().ShouldAllBe(k => k.GetProperty("reasons")[0].GetString() == "last");
        await sandbox.AssertUnchangedAsync(before);
        var text = await sandbox.RunAsync("forget", "--keep-last", "2", "--dry-run");
        text.Out.ShouldContain("keep    (last)");
        text.Out.ShouldContain("would remove");
    }

    [Fact]
    public async Task Forget_with_prune_frees_what_only_the_forgotten_snapshots_held_and_the_rest_restores()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAsync();
        WriteRandom(Path.Combine(sandbox.Source, "keep.bin"), 2 << 20, 1);
        WriteRandom(Path.Combine(sandbox.Source, "old.bin"), 3 << 20, 2);
        await sandbox.BackupAsync();
        File.Delete(Path.Combine(sandbox.Source, "old.bin"));
        WriteRandom(Path.Combine(sandbox.Source, "new.bin"), 1 << 20, 3);
        var kept = await sandbox.BackupAsync();

        var result = await sandbox.RunAsync("forget", "--keep-last", "1", "--prune", "--max-unused", "0%", "--json");

        result.ShouldSucceed();
        // Two JSON documents, one per line: forget's, then prune's.
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(2, result.ToString());
        using var prune = JsonDocument.Parse(lines[1]);
        prune.RootElement.GetProperty("bytes_freed").GetInt64().ShouldBeGreaterThan(3L << 20);
        (await sandbox.SnapshotIdsAsync()).ShouldBe([kept]);
        (await sandbox.RunAsync("check", "--read-data")).ShouldSucceed();
        (await sandbox.RunAsync("restore", "latest", "--target", sandbox.Path("restored"))).ShouldSucceed();
        TreeAssert.Identical(sandbox.Source, sandbox.Path("restored", "src"));
    }

    [Fact]
    public async Task Forget_without_a_policy_and_with_bad_values_is_refused_and_removes_nothing()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAsync();
        WriteRandom(Path.Combine(sandbox.Source, "a.bin"), 100, 1);
        await sandbox.BackupAsync();
        var before = await sandbox.CaptureAsync();

        (await sandbox.RunAsync("forget")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("forget", "--keep-within", "7 days")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("forget", "--keep-daily", "-1")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("forget", "--keep-last", "1", "--group-by", "planet")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("forget", "--keep-last", "1", "--time-zone", "Mars/Olympus")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("prune", "--max-unused", "150%")).ShouldFailWith(ExitCodes.Usage);

        await sandbox.AssertUnchangedAsync(before);
    }

    [Fact]
    public async Task Keys_can_be_added_listed_changed_and_removed_but_never_the_last()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAsync();
        var runner = sandbox.Runner;

        (await runner.With("ARCA_NEW_PASSWORD", "second password").RunAsync("key", "add")).ShouldSucceed();
        var list = await runner.RunAsync("key", "list", "--json");
        list.ShouldSucceed();
        string firstId, secondId;
        using (var json = list.Json())
        {
            var keys = json.RootElement.EnumerateArray().ToList();
            keys.Count.ShouldBe(2);
            firstId = keys.Single(k => k.GetProperty("current").GetBoolean()).GetProperty("id").GetString()!;
            secondId = keys.Single(k => !k.GetProperty("current").GetBoolean()).GetProperty("id").GetString()!;
        }

        // The second password opens the repository; the key in use cannot be removed through itself.
        var second = runner.With("ARCA_PASSWORD", "second password");
        (await second.RunAsync("snapshots")).ShouldSucceed();
        (await second.RunAsync("key", "remove", secondId[..8])).ShouldFailWith(ExitCodes.Usage);
        (await second.RunAsync("key", "remove", firstId[..10])).ShouldSucceed();
        (await runner.RunAsync("snapshots")).ShouldFailWith(ExitCodes.WrongPassword);

        // Only one key is left: removing it is refused, whoever asks.
        (await second.RunAsync("key", "remove", secondId)).ShouldFailWith(ExitCodes.Usage);

        var newFile = sandbox.Path("new-password");
        await File.WriteAllTextAsync(newFile, "third password\n");
        (await second.RunAsync("key", "passwd", "--new-password-file", newFile)).ShouldSucceed();
        (await second.RunAsync("snapshots")).ShouldFailWith(ExitCodes.WrongPassword);
        (await runner.With("ARCA_PASSWORD", "third password").RunAsync("snapshots")).ShouldSucceed();
        (await sandbox.NamesAsync(StorageKind.Key)).Count.ShouldBe(1);
        (await runner.With("ARCA_PASSWORD", "third password").With("ARCA_NEW_PASSWORD", null).RunAsync("key", "add"))
            .ShouldFailWith(ExitCodes.Usage);
    }

    [Fact]
    public async Task Diff_names_added_removed_and_changed_paths_with_sizes()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        new TreeFixture().File("same.txt", "same").File("changed.txt", "before").File("gone/old.txt", "old text").CreateIn(sandbox.Source);
        await sandbox.InitAsync();
        var first = await sandbox.BackupAsync();
        await File.WriteAllTextAsync(Path.Combine(sandbox.Source, "changed.txt"), "after, longer");
        Directory.Delete(Path.Combine(sandbox.Source, "gone"), recursive: true);
        WriteRandom(Path.Combine(sandbox.Source, "new", "data.bin"), 5000, 9);
        var second = await sandbox.BackupAsync();

        var result = await sandbox.RunAsync("diff", first[..12], second, "--json");

        result.ShouldSucceed();
        using var json = result.Json();
        var changes = json.RootElement.GetProperty("changes").EnumerateArray()
            .Select(c => (c.GetProperty("path").GetString(), c.GetProperty("change").GetString())).ToList();
        // A folder's own mtime moves with every change inside it, so it is not reported as a change of its own.
        changes.ShouldBe([
            ("/src/changed.txt", "modified"),
            ("/src/gone", "removed"),
            ("/src/gone/old.txt", "removed"),
            ("/src/new", "added"),
            ("/src/new/data.bin", "added"),
        ], ignoreOrder: true);
        json.RootElement.GetProperty("bytes_added").GetInt64().ShouldBe(5000 + "after, longer".Length);
        json.RootElement.GetProperty("bytes_removed").GetInt64().ShouldBe("before".Length + "old text".Length);
        var text = await sandbox.RunAsync("diff", first, second);
        text.Out.ShouldContain("+    4.9 KiB  /src/new/data.bin");
        text.Out.ShouldContain("-        8 B  /src/gone/old.txt");
    }

    [Fact]
    public async Task Stats_count_logical_deduplicated_and_stored_sizes()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        // The same 1 MiB of random bytes twice, and a compressible text: dedup and compression both show.
        WriteRandom(Path.Combine(sandbox.Source, "a.bin"), 1 << 20, 5);
        WriteRandom(Path.Combine(sandbox.Source, "copy-of-a.bin"), 1 << 20, 5);
        await File.WriteAllTextAsync(Path.Combine(sandbox.Source, "text.log"), string.Concat(Enumerable.Repeat("a line of log text\n", 20000)));
        await sandbox.InitAsync();
        await sandbox.BackupAsync();
        await sandbox.BackupAsync();

        var all = await sandbox.RunAsync("stats", "--json");
        var one = await sandbox.RunAsync("stats", "latest", "--json");

        all.ShouldSucceed();
        one.ShouldSucceed();
        using var allJson = all.Json();
        using var oneJson = one.Json();
        const int LogBytes = 20000 * 19;
        var logicalOne = (2L << 20) + LogBytes;
        oneJson.RootElement.GetProperty("snapshots").GetInt32().ShouldBe(1);
        oneJson.RootElement.GetProperty("files").GetInt64().ShouldBe(3);
        oneJson.RootElement.GetProperty("logical_bytes").GetInt64().ShouldBe(logicalOne);
        allJson.RootElement.GetProperty("logical_bytes").GetInt64().ShouldBe(2 * logicalOne);
        // Two snapshots of the same tree store it once.
        allJson.RootElement.GetProperty("stored_bytes").GetInt64().ShouldBe(oneJson.RootElement.GetProperty("stored_bytes").GetInt64());
        var unique = oneJson.RootElement.GetProperty("unique_bytes").GetInt64();
        unique.ShouldBeInRange((1L << 20) + LogBytes, (1L << 20) + LogBytes + 4096);
        oneJson.RootElement.GetProperty("stored_bytes").GetInt64().ShouldBeLessThan((1L << 20) + 20000);
        allJson.RootElement.GetProperty("ratio").GetDouble().ShouldBeGreaterThan(3.5);
    }
}

public sealed class LifecycleTestsOnLocal : LifecycleTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class LifecycleTestsOnS3 : LifecycleTests
{
    protected override Backend Backend => Backend.S3;
}
