using Arca.Native;
using Arca.Storage;
using Arca.Storage.InMemory;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>The helpers the CLI tests lean on must catch what they claim to: a comparison that always passes proves nothing.</summary>
public sealed class TestKitTests
{
    private static TreeFixture Tree() => new TreeFixture()
        .File("a.txt", "alpha")
        .File("sub/b.bin", TreeFixture.RandomBytes(1000, seed: 3), mode: TreeFixture.Mode("0640"))
        .Symlink("link", "a.txt")
        .Directory("empty", mode: TreeFixture.Mode("0750"));

    [Fact]
    public void Two_trees_from_the_same_fixture_are_identical()
    {
        using var temp = new TempDirectory();
        var fixture = Tree();
        TreeAssert.Identical(fixture.CreateIn(temp.Combine("one")), fixture.CreateIn(temp.Combine("two")));
    }

    [Fact]
    public void The_fixture_sets_modes_and_distinct_nanosecond_mtimes()
    {
        using var temp = new TempDirectory();
        var entries = TreeAssert.Capture(Tree().CreateIn(temp.Path));

        entries["sub/b.bin"].Permissions.ShouldBe(Convert.ToUInt32("640", 8));
        entries["empty"].Permissions.ShouldBe(Convert.ToUInt32("750", 8));
        entries["link"].Kind.ShouldBe("symlink");
        entries["link"].LinkTarget.ShouldBe("a.txt");
        entries.Where(e => e.Key != ".").Select(e => e.Value.ModifyTimeNs).Distinct().Count().ShouldBe(entries.Count - 1);
        entries["a.txt"].ModifyTimeNs.ShouldBe(TreeFixture.DefaultTimeNs);
        (entries["a.txt"].ModifyTimeNs % 1_000_000_000).ShouldNotBe(0);
    }

    [Theory]
    [InlineData("byte")]
    [InlineData("mode")]
    [InlineData("mtime")]
    [InlineData("target")]
    [InlineData("extra")]
    [InlineData("missing")]
    [InlineData("kind")]
    public void A_single_difference_is_reported_with_its_path(string change)
    {
        using var temp = new TempDirectory();
        var expected = Tree().CreateIn(temp.Combine("expected"));
        var actual = Tree().CreateIn(temp.Combine("actual"));
        var file = Path.Combine(actual, "sub", "b.bin");
        var (path, changeTime) = change switch
        {
            "byte" => ("sub/b.bin", Flip(file)),
            "mode" => ("sub/b.bin", Do(() => File.SetUnixFileMode(file, TreeFixture.Mode("0644")))),
            "mtime" => ("sub/b.bin", Do(() =>
            {
                var time = Posix.LinkStatus(file).ModifyTimeNs + 1;
                Posix.SetTimes(file, time, time, noFollow: true);
            })),
            "target" => ("link", Do(() =>
            {
                File.Delete(Path.Combine(actual, "link"));
                File.CreateSymbolicLink(Path.Combine(actual, "link"), "sub/b.bin");
                var time = Posix.LinkStatus(Path.Combine(expected, "link")).ModifyTimeNs;
                Posix.SetTimes(Path.Combine(actual, "link"), time, time, noFollow: true);
            })),
            "extra" => ("sub/c.txt", Do(() => File.WriteAllText(Path.Combine(actual, "sub", "c.txt"), "c"))),
            "missing" => ("a.txt", Do(() => File.Delete(Path.Combine(actual, "a.txt")))),
            _ => ("empty", Do(() =>
            {
                Directory.Delete(Path.Combine(actual, "empty"));
                File.WriteAllText(Path.Combine(actual, "empty"), "");
            })),
        };
        // Changing an entry moves its folder's mtime; put the folders' times back so only the change remains.
        foreach (var folder in new[] { actual, Path.Combine(actual, "sub") })
        {
            var time = Posix.LinkStatus(Path.Combine(expected, Path.GetRelativePath(actual, folder))).ModifyTimeNs;
            Posix.SetTimes(folder, time, time, noFollow: true);
        }
        changeTime.ShouldBeTrue();

        var failure = Should.Throw<Xunit.Sdk.XunitException>(() => TreeAssert.Identical(expected, actual));
        failure.Message.ShouldContain("1 differences");
        failure.Message.ShouldContain($"\n  {path}: ");
    }

    [Fact]
    public void Unchanged_ignores_folder_times_only_when_asked()
    {
        using var temp = new TempDirectory();
        var root = Tree().CreateIn(temp.Path);
        var before = TreeAssert.Capture(root);
        File.WriteAllText(Path.Combine(root, "sub", "lock"), "");
        File.Delete(Path.Combine(root, "sub", "lock"));

        TreeAssert.Unchanged(before, root, ignoreFolderTimes: true);
        Should.Throw<Xunit.Sdk.XunitException>(() => TreeAssert.Unchanged(before, root)).Message.ShouldContain("sub: mtime");
    }

    [Theory]
    [InlineData("none")]
    [InlineData("bytes")]
    [InlineData("extra")]
    [InlineData("missing")]
    public async Task Storage_unchanged_reports_each_changed_added_or_removed_file_with_its_key(string change)
    {
        var storage = new InMemoryStorage();
        var pack = new StorageKey(StorageKind.Pack, "ab01");
        var config = new StorageKey(StorageKind.Config, "config");
        await storage.PutBytesAsync(pack, TreeFixture.RandomBytes(1000, seed: 1), CancellationToken.None);
        await storage.PutBytesAsync(config, "{}"u8.ToArray(), CancellationToken.None);
        var before = await StorageAssert.CaptureAsync(storage);
        before.Keys.ShouldBe(["config/config", "pack/ab01"]);

        switch (change)
        {
            case "bytes":
                await storage.DeleteAsync(pack, CancellationToken.None);
                await storage.PutBytesAsync(pack, TreeFixture.RandomBytes(1000, seed: 2), CancellationToken.None);
                break;
            case "extra":
                await storage.PutBytesAsync(new StorageKey(StorageKind.Lock, "cd02"), "x"u8.ToArray(), CancellationToken.None);
                break;
            case "missing":
                await storage.DeleteAsync(config, CancellationToken.None);
                break;
        }

        if (change == "none")
        {
            await StorageAssert.UnchangedAsync(before, storage);
            return;
        }
        var failure = await Should.ThrowAsync<Xunit.Sdk.XunitException>(() => StorageAssert.UnchangedAsync(before, storage));
        failure.Message.ShouldContain("1 differences");
        failure.Message.ShouldContain(change switch { "bytes" => "\n  pack/ab01: ", "extra" => "\n  lock/cd02: ", _ => "\n  config/config: " });
    }

    [Fact]
    public void A_temp_directory_is_unique_and_deletes_read_only_contents()
    {
        string path;
        using (var temp = new TempDirectory())
        using (var other = new TempDirectory())
        {
            path = temp.Path;
            other.Path.ShouldNotBe(path);
            Path.GetDirectoryName(path).ShouldBe(Path.Combine(Path.GetTempPath(), "arca-tests"));
            var folder = temp.CreateDirectory("locked");
            File.WriteAllText(Path.Combine(folder, "file"), "x");
            File.SetUnixFileMode(Path.Combine(folder, "file"), UnixFileMode.UserRead);
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            File.CreateSymbolicLink(temp.Combine("outside"), Path.GetTempPath());
        }
        Directory.Exists(path).ShouldBeFalse();
        Directory.Exists(Path.GetTempPath()).ShouldBeTrue();
    }

    [Fact]
    public void Random_files_with_the_same_seed_have_the_same_bytes()
    {
        TreeFixture.RandomBytes(4096, seed: 9).ShouldBe(TreeFixture.RandomBytes(4096, seed: 9));
        TreeFixture.RandomBytes(4096, seed: 9).ShouldNotBe(TreeFixture.RandomBytes(4096, seed: 10));
    }

    [Fact]
    public async Task The_in_process_runner_passes_its_environment_and_captures_both_streams()
    {
        using var temp = new TempDirectory();
        var runner = new CliRunner(temp.Combine("repo"));
        var init = await runner.RunAsync("init");
        init.ExitCode.ShouldBe(0, init.ToString());
        init.Out.ShouldContain(temp.Combine("repo"));
        var missing = await runner.With("ARCA_REPOSITORY", null).RunAsync("snapshots");
        missing.ExitCode.ShouldBe(ExitCodes.Usage);
        missing.ErrorLines[0].ShouldContain("No repository given");
    }

    private static bool Flip(string file)
    {
        var bytes = File.ReadAllBytes(file);
        bytes[500] ^= 1;
        var time = Posix.LinkStatus(file).ModifyTimeNs;
        File.WriteAllBytes(file, bytes);
        Posix.SetTimes(file, time, time, noFollow: true);
        return true;
    }

    private static bool Do(Action action)
    {
        action();
        return true;
    }
}
