using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// restore's choices through the CLI: dry run, the three overwrite modes, --include and --exclude, checked on disk.
/// Runs once per <see cref="Cli.Tests.Backend"/>.
/// </summary>
public abstract class RestoreTests
{
    protected abstract Backend Backend { get; }

    /// <summary>The snapshot's mtimes: 2020-09-13, long before any file a test writes now.</summary>
    private static TreeFixture Tree() => new TreeFixture()
        .File("a.txt", "alpha from the snapshot\n")
        .File("b.txt", "bravo from the snapshot\n")
        .File("logs/app.log", "log line\n")
        .File("logs/keep.txt", "keep\n")
        .File("docs/guide.md", "guide\n")
        .File("docs/deep/notes.log", "notes\n")
        .Symlink("link", "a.txt");

    private const long OldTimeNs = TreeFixture.DefaultTimeNs - 86_400_000_000_000L; // a day before any snapshot mtime

    [Fact]
    public async Task Dry_run_lists_what_it_would_do_and_changes_nothing_on_disk()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var target = sandbox.Path("target");
        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldSucceed();
        File.WriteAllText(Path.Combine(target, "src", "a.txt"), "edited locally\n");
        File.Delete(Path.Combine(target, "src", "b.txt"));
        var before = TreeAssert.Capture(target);

        var text = await sandbox.RunAsync("restore", "latest", "--target", target, "--dry-run");
        text.ShouldSucceed();
        text.Out.ShouldContain("would create    /src/b.txt");
        text.Out.ShouldContain("would overwrite /src/a.txt");
        text.Out.ShouldContain("nothing was changed");

        var json = await sandbox.RunAsync("restore", "latest", "--target", target, "--dry-run", "--json");
        json.ShouldSucceed();
        using (var document = json.Json())
        {
            var root = document.RootElement;
            root.GetProperty("dry_run").GetBoolean().ShouldBeTrue();
            var actions = root.GetProperty("actions").EnumerateArray()
                .ToDictionary(a => a.GetProperty("path").GetString()!, a => a.GetProperty("action").GetString());
            actions["/src/b.txt"].ShouldBe("create");
            actions["/src/a.txt"].ShouldBe("overwrite");
            actions.Keys.ShouldContain("/src/docs/deep/notes.log");
            root.GetProperty("create").GetInt32().ShouldBe(1);
        }

        TreeAssert.Unchanged(before, target); // folder mtimes too: a dry run touches nothing
    }

    [Fact]
    public async Task Dry_run_into_a_missing_folder_does_not_create_it()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var target = sandbox.Path("not-yet");

        var result = await sandbox.RunAsync("restore", "latest", "--target", target, "--dry-run");
        result.ShouldSucceed();
        result.Out.ShouldContain("would create    /src/docs/guide.md");
        Directory.Exists(target).ShouldBeFalse();
    }

    [Fact]
    public async Task Overwrite_skip_keeps_an_existing_modified_file_and_restores_missing_ones()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var target = sandbox.Path("target");
        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldSucceed();
        var a = Path.Combine(target, "src", "a.txt");
        var b = Path.Combine(target, "src", "b.txt");
        File.WriteAllText(a, "edited locally\n");
        File.Delete(b);

        (await sandbox.RunAsync("restore", "latest", "--target", target, "--overwrite", "skip")).ShouldSucceed();

        File.ReadAllText(a).ShouldBe("edited locally\n");
        File.ReadAllText(b).ShouldBe("bravo from the snapshot\n");
    }

    [Fact]
    public async Task Overwrite_if_newer_replaces_an_older_file_only()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var target = sandbox.Path("target");
        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldSucceed();
        var older = Path.Combine(target, "src", "a.txt");
        var newer = Path.Combine(target, "src", "b.txt");
        File.WriteAllText(older, "older local copy\n");
        Arca.Native.Posix.SetTimes(older, OldTimeNs, OldTimeNs, noFollow: true);
        File.WriteAllText(newer, "newer local copy\n"); // mtime now: newer than the snapshot's

        (await sandbox.RunAsync("restore", "latest", "--target", target, "--overwrite", "if-newer")).ShouldSucceed();

        File.ReadAllText(older).ShouldBe("alpha from the snapshot\n");
        File.ReadAllText(newer).ShouldBe("newer local copy\n");
    }

    [Fact]
    public async Task Overwrite_always_is_the_default_and_replaces_a_newer_modified_file()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var target = sandbox.Path("target");
        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldSucceed();
        File.WriteAllText(Path.Combine(target, "src", "a.txt"), "edited locally\n");
        File.Delete(Path.Combine(target, "src", "link"));
        File.WriteAllText(Path.Combine(target, "src", "link"), "a file where the symlink was\n");

        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldSucceed();

        TreeAssert.Identical(sandbox.Source, Path.Combine(target, "src"));
    }

    [Fact]
    public async Task Include_restores_only_the_named_paths_and_what_is_below_them()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var target = sandbox.Path("target");

        (await sandbox.RunAsync("restore", "latest", "--target", target, "--include", "/src/docs", "--include", "src/a.txt")).ShouldSucceed();

        Files(target).ShouldBe(["src/a.txt", "src/docs/deep/notes.log", "src/docs/guide.md"]);
        TreeAssert.Identical(Path.Combine(sandbox.Source, "docs"), Path.Combine(target, "src", "docs"));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/src")]
    [InlineData("src/")]
    public async Task Include_of_the_snapshot_root_or_its_top_folder_restores_everything(string include)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var target = sandbox.Path("target");

        (await sandbox.RunAsync("restore", "latest", "--target", target, "--include", include)).ShouldSucceed();

        TreeAssert.Identical(sandbox.Source, Path.Combine(target, "src"));
    }

    [Fact]
    public async Task Exclude_leaves_out_entries_matching_the_glob()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var byName = sandbox.Path("by-name");
        var byPath = sandbox.Path("by-path");

        (await sandbox.RunAsync("restore", "latest", "--target", byName, "--exclude", "*.log")).ShouldSucceed();
        (await sandbox.RunAsync("restore", "latest", "--target", byPath, "--exclude", "/src/logs", "--exclude", "docs/deep")).ShouldSucceed();

        Files(byName).ShouldBe(["src/a.txt", "src/b.txt", "src/docs/guide.md", "src/link", "src/logs/keep.txt"]);
        Files(byPath).ShouldBe(["src/a.txt", "src/b.txt", "src/docs/guide.md", "src/link"]);
        Directory.Exists(Path.Combine(byPath, "src", "logs")).ShouldBeFalse();
    }

    [Fact]
    public async Task Include_and_exclude_together_restore_the_included_paths_minus_the_excluded_entries()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(Tree());
        var target = sandbox.Path("target");

        (await sandbox.RunAsync("restore", "latest", "--target", target, "--include", "/src/docs", "--include", "/src/logs", "--exclude", "*.log"))
            .ShouldSucceed();

        Files(target).ShouldBe(["src/docs/guide.md", "src/logs/keep.txt"]);
    }

    /// <summary>Files and symlinks below <paramref name="root"/>, as sorted relative paths.</summary>
    private static List<string> Files(string root) =>
        [.. TreeAssert.Capture(root).Where(e => e.Value.Kind is not "dir").Select(e => e.Key).Order(StringComparer.Ordinal)];
}

public sealed class RestoreTestsOnLocal : RestoreTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class RestoreTestsOnS3 : RestoreTests
{
    protected override Backend Backend => Backend.S3;
}
