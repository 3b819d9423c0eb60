using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arca.Storage;
using Arca.Storage.S3;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// Each mistake a user can make gets its documented exit code and one short message (a sentence and a hint,
/// no stack trace), and leaves the repository, the target and the sources exactly as they were. Runs once per
/// <see cref="Cli.Tests.Backend"/>; the mistakes only one backend can meet are in its class below.
/// </summary>
public abstract class BadInputTests
{
    protected abstract Backend Backend { get; }

    internal static TreeFixture SmallTree() => new TreeFixture()
        .File("a.txt", "alpha\n")
        .File("sub/b.txt", "bravo\n");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_wrong_password_exits_12_and_changes_nothing(bool builtProgram)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var before = await sandbox.CaptureAsync();
        var target = sandbox.Path("target");
        var wrong = sandbox.Runner.With("ARCA_PASSWORD", "not the password");
        Task<CliResult> Run(params string[] args) => builtProgram ? wrong.RunBinaryAsync(args) : wrong.RunAsync(args);

        (await Run("snapshots")).ShouldFailWith(ExitCodes.WrongPassword);
        (await Run("backup", sandbox.Source)).ShouldFailWith(ExitCodes.WrongPassword);
        (await Run("restore", "latest", "--target", target)).ShouldFailWith(ExitCodes.WrongPassword);
        (await Run("check", "--read-data")).ShouldFailWith(ExitCodes.WrongPassword);
        (await Run("unlock")).ShouldFailWith(ExitCodes.WrongPassword);

        await sandbox.AssertUnchangedAsync(before);
        Directory.Exists(target).ShouldBeFalse();
    }

    [Fact]
    public async Task A_wrong_password_from_a_password_file_exits_12_and_the_right_one_opens_the_repository()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var wrongFile = sandbox.Path("wrong.txt");
        var rightFile = sandbox.Path("right.txt");
        File.WriteAllText(wrongFile, "nope\n");
        File.WriteAllText(rightFile, CliRunner.DefaultPassword + "\n");
        var noEnvironment = sandbox.Runner.With("ARCA_PASSWORD", null);

        (await noEnvironment.RunAsync("snapshots", "--password-file", wrongFile)).ShouldFailWith(ExitCodes.WrongPassword);
        (await noEnvironment.RunAsync("snapshots", "--password-file", rightFile)).ShouldSucceed();
    }

    [Fact]
    public async Task No_password_and_no_terminal_is_a_usage_error()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var before = await sandbox.CaptureAsync();
        var noPassword = sandbox.Runner.With("ARCA_PASSWORD", null);

        (await noPassword.RunAsync("snapshots")).ShouldFailWith(ExitCodes.Usage);
        (await noPassword.RunAsync("snapshots", "--password-file", sandbox.Path("no-such-file"))).ShouldFailWith(ExitCodes.Usage);
        await sandbox.AssertUnchangedAsync(before);
    }

    [Fact]
    public async Task A_wrong_password_with_json_puts_one_json_error_on_standard_error()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());

        var result = await sandbox.Runner.With("ARCA_PASSWORD", "wrong").RunAsync("snapshots", "--json");
        result.ExitCode.ShouldBe(ExitCodes.WrongPassword, result.ToString());
        result.Out.ShouldBeEmpty();
        result.ErrorLines.Count.ShouldBe(1, result.ToString());
        using var json = JsonDocument.Parse(result.Error);
        var error = json.RootElement.GetProperty("error");
        error.GetProperty("exit_code").GetInt32().ShouldBe(ExitCodes.WrongPassword);
        error.GetProperty("message").GetString().ShouldNotBeNullOrWhiteSpace();
        result.Error.ShouldNotContain("   at ");
    }

    [Fact]
    public async Task A_backup_path_that_does_not_exist_exits_22_and_writes_no_snapshot()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var before = await sandbox.CaptureAsync();

        (await sandbox.RunAsync("backup", sandbox.Path("no-such-folder"))).ShouldFailWith(ExitCodes.PathNotFound);
        (await sandbox.RunAsync("backup", sandbox.Source, sandbox.Path("no-such-file.txt"))).ShouldFailWith(ExitCodes.PathNotFound);

        await sandbox.AssertUnchangedAsync(before);
        (await sandbox.SnapshotIdsAsync()).Count.ShouldBe(1);
    }

    [Fact]
    public async Task An_unknown_snapshot_id_exits_20_and_restores_nothing()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        var id = await sandbox.InitAndBackupAsync(SmallTree());
        var before = await sandbox.CaptureAsync();
        var otherChar = id[0] == '0' ? "1" : "0";
        var unknownFullId = otherChar + id[1..];
        var target = sandbox.Path("target");

        (await sandbox.RunAsync("ls", unknownFullId)).ShouldFailWith(ExitCodes.SnapshotNotFound);
        (await sandbox.RunAsync("ls", otherChar)).ShouldFailWith(ExitCodes.SnapshotNotFound);
        (await sandbox.RunAsync("ls", "not-hex")).ShouldFailWith(ExitCodes.SnapshotNotFound);
        (await sandbox.RunAsync("restore", unknownFullId[..8], "--target", target)).ShouldFailWith(ExitCodes.SnapshotNotFound);

        Directory.Exists(target).ShouldBeFalse();
        await sandbox.AssertUnchangedAsync(before);
    }

    [Fact]
    public async Task Latest_in_a_repository_without_snapshots_exits_20()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAsync();
        var target = sandbox.Path("target");

        (await sandbox.RunAsync("ls", "latest")).ShouldFailWith(ExitCodes.SnapshotNotFound);
        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldFailWith(ExitCodes.SnapshotNotFound);
        Directory.Exists(target).ShouldBeFalse();
    }

    [Fact]
    public async Task An_id_prefix_shared_by_two_snapshots_exits_21_and_restores_nothing()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        var ids = new List<string> { await sandbox.InitAndBackupAsync(SmallTree()) };
        // 17 ids cannot all differ in their first of 16 hex digits; a few backups usually suffice.
        string? shared = null;
        while (shared is null)
        {
            ids.Count.ShouldBeLessThanOrEqualTo(16, "17 snapshot ids must share a first hex digit");
            ids.Add(await sandbox.BackupAsync());
            shared = ids.GroupBy(i => i[..1]).FirstOrDefault(g => g.Count() > 1)?.Key;
        }
        var before = await sandbox.CaptureAsync();
        var target = sandbox.Path("target");

        var ls = await sandbox.RunAsync("ls", shared);
        ls.ShouldFailWith(ExitCodes.AmbiguousSnapshot);
        ls.Error.ShouldContain($"'{shared}'");
        (await sandbox.RunAsync("restore", shared.ToUpperInvariant(), "--target", target)).ShouldFailWith(ExitCodes.AmbiguousSnapshot);

        Directory.Exists(target).ShouldBeFalse();
        await sandbox.AssertUnchangedAsync(before);
        // A longer prefix that is unique still works.
        var one = ids.First(i => i.StartsWith(shared, StringComparison.Ordinal));
        (await sandbox.RunAsync("ls", one[..12])).ShouldSucceed();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_second_init_exits_13_and_leaves_every_repository_file_byte_identical(bool otherPassword)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var before = await sandbox.CaptureAsync();
        var runner = otherPassword ? sandbox.Runner.With("ARCA_PASSWORD", "another password") : sandbox.Runner;

        (await runner.RunAsync("init")).ShouldFailWith(ExitCodes.RepositoryExists);

        await sandbox.AssertUnchangedAsync(before);
        (await sandbox.SnapshotIdsAsync()).Count.ShouldBe(1);
    }

    [Theory]
    [InlineData("snapshots", "--no-such-option")]
    [InlineData("restore", "latest")]
    [InlineData("restore", "latest", "--bogus", "--target", "{target}")]
    [InlineData("restore", "--bogus", "--target", "{target}")]
    [InlineData("restore", "latest", "--target", "{target}", "--overwrite", "sometimes")]
    [InlineData("restore", "--target", "{target}")]
    [InlineData("backup")]
    [InlineData("frobnicate")]
    [InlineData("check", "--read-data-subset", "150%")]
    [InlineData("ls", "latest", "/src", "/extra")]
    [InlineData("restore", "latest", "--target", "{file}")]
    [InlineData("backup", "{source}", "--tag", "a,b")]
    [InlineData("backup", "{source}", "{other}/src")]
    [InlineData("check", "--read-data-subset", "0%")]
    [InlineData("restore", "latest", "--target", "{target}", "--no-verify")]
    [InlineData("restore", "latest", "--table", "public.t", "--to", "postgresql://arca@127.0.0.1:1/db", "--yes", "--no-verify")]
    [InlineData("restore", "latest", "--target", "{target}", "--split-tables")]
    [InlineData("restore", "latest", "--table", "public.t", "--to", "postgresql://arca@127.0.0.1:1/db", "--yes", "--split-tables")]
    public async Task A_usage_mistake_exits_2_and_changes_nothing(params string[] args)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var file = sandbox.Path("a-file");
        File.WriteAllText(file, "not a folder\n");
        // Another folder named "src": two backup paths may not share a last component.
        var other = sandbox.Temp.CreateDirectory("other", "src");
        var before = TreeAssert.Capture(sandbox.Temp.Path);
        var repository = await sandbox.CaptureAsync();
        var target = sandbox.Path("target");
        var expanded = args.Select(a => a
            .Replace("{target}", target, StringComparison.Ordinal)
            .Replace("{file}", file, StringComparison.Ordinal)
            .Replace("{source}", sandbox.Source, StringComparison.Ordinal)
            .Replace("{other}", Path.GetDirectoryName(other)!, StringComparison.Ordinal));

        (await sandbox.RunAsync([.. expanded])).ShouldFailWith(ExitCodes.Usage);

        // The repository, the sources, and any would-be target: all as they were (a local repository is in
        // the temp folder, so it is compared there as strictly as the sources).
        TreeAssert.Unchanged(before, sandbox.Temp.Path);
        await sandbox.AssertUnchangedAsync(repository);
    }

    [Theory]
    [InlineData("ls", "--as-of", "yesterday")]
    [InlineData("ls", "latest", "--as-of", "2026-02-30T10:00:00Z")]
    [InlineData("ls", "latest", "--as-of", "2026-11-20 25:00")]
    [InlineData("restore", "--as-of", "2026-13-45", "--target", "{target}")]
    [InlineData("restore", "{id}", "--as-of", "2026-01-01", "--target", "{target}")]
    public async Task A_malformed_or_misplaced_as_of_time_exits_2_and_restores_nothing(params string[] args)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        var id = await sandbox.InitAndBackupAsync(SmallTree());
        var target = sandbox.Path("target");

        (await sandbox.RunAsync([.. args.Select(a => a.Replace("{target}", target, StringComparison.Ordinal).Replace("{id}", id, StringComparison.Ordinal))]))
            .ShouldFailWith(ExitCodes.Usage);

        Directory.Exists(target).ShouldBeFalse();
    }

    [Fact]
    public async Task Restore_include_of_a_path_not_in_the_snapshot_exits_22_and_restores_nothing()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var target = sandbox.Path("target");

        (await sandbox.RunAsync("restore", "latest", "--target", target, "--include", "/src/nope")).ShouldFailWith(ExitCodes.PathNotFound);
        (await sandbox.RunAsync("restore", "latest", "--target", target, "--include", "/src/a.txt", "--include", "/elsewhere"))
            .ShouldFailWith(ExitCodes.PathNotFound);

        Directory.Exists(target).ShouldBeFalse();
    }

    [Fact]
    public async Task Ls_of_a_path_not_in_the_snapshot_exits_22()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());

        (await sandbox.RunAsync("ls", "latest", "/src/nope")).ShouldFailWith(ExitCodes.PathNotFound);
        (await sandbox.RunAsync("ls", "latest", "/other")).ShouldFailWith(ExitCodes.PathNotFound);
        (await sandbox.RunAsync("ls", "latest", "/src/a.txt/below-a-file")).ShouldFailWith(ExitCodes.PathNotFound);
        (await sandbox.RunAsync("ls", "latest", "/src/sub")).ShouldSucceed();
    }

    [Theory]
    [InlineData(99, "Use a newer arca")]
    [InlineData(1, "Use the arca release that created it")] // its blobs are not bound to their ids (docs/format.md)
    public async Task A_repository_of_another_format_version_exits_14_and_is_left_alone(int version, string hint)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var config = new StorageKey(StorageKind.Config, "config");
        var node = JsonNode.Parse(await sandbox.ReadFileAsync(config))!.AsObject();
        node["version"]!.GetValue<int>().ShouldBe(2);
        node["version"] = version;
        await sandbox.ReplaceFileAsync(config, Encoding.UTF8.GetBytes(node.ToJsonString()));
        var before = await sandbox.CaptureAsync();
        var target = sandbox.Path("target");

        var snapshots = await sandbox.RunAsync("snapshots");
        snapshots.ShouldFailWith(ExitCodes.UnsupportedFormat);
        snapshots.ErrorLines[^1].ShouldContain(hint);
        (await sandbox.RunAsync("backup", sandbox.Source)).ShouldFailWith(ExitCodes.UnsupportedFormat);
        (await sandbox.RunAsync("check", "--read-data")).ShouldFailWith(ExitCodes.UnsupportedFormat);
        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldFailWith(ExitCodes.UnsupportedFormat);
        (await sandbox.RunAsync("unlock")).ShouldFailWith(ExitCodes.UnsupportedFormat);
        (await sandbox.RunAsync("init")).ShouldFailWith(ExitCodes.RepositoryExists);

        await sandbox.AssertUnchangedAsync(before);
        Directory.Exists(target).ShouldBeFalse();
    }
}

/// <summary>The bad input on a folder repository, and what does not depend on the backend at all.</summary>
public sealed class BadInputTestsOnLocal : BadInputTests
{
    protected override Backend Backend => Backend.Local;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_path_with_no_repository_exits_10_and_creates_nothing(bool builtProgram)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        SmallTree().CreateIn(sandbox.Source);
        var missing = sandbox.Path("missing");
        var empty = sandbox.Temp.CreateDirectory("empty");

        (await sandbox.RunAsync(builtProgram, "snapshots", "--repo", missing)).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "backup", sandbox.Source, "--repo", missing)).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "ls", "latest", "--repo", missing)).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "check", "--repo", empty)).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "backup", sandbox.Source, "--repo", empty)).ShouldFailWith(ExitCodes.RepositoryNotFound);

        Directory.Exists(missing).ShouldBeFalse();
        Directory.EnumerateFileSystemEntries(empty).ShouldBeEmpty();
    }

    [Fact]
    public async Task No_repository_given_at_all_is_a_usage_error()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        (await sandbox.Runner.With("ARCA_REPOSITORY", null).RunAsync("snapshots")).ShouldFailWith(ExitCodes.Usage);
    }
}

/// <summary>The bad input only an S3 repository can meet: its location, its credentials, its server.</summary>
public sealed class BadInputTestsOnS3 : BadInputTests
{
    protected override Backend Backend => Backend.S3;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bucket_with_no_repository_or_no_bucket_at_all_exits_10_and_creates_nothing(bool builtProgram)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        SmallTree().CreateIn(sandbox.Source);
        // The sandbox's own bucket is new and empty; the other one was never made.
        var empty = S3Location.Parse(sandbox.Repository);
        var missing = empty with { Bucket = "t-missing-" + Guid.NewGuid().ToString("N")[..16] };

        (await sandbox.RunAsync(builtProgram, "snapshots", "--repo", missing.ToString())).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "backup", sandbox.Source, "--repo", missing.ToString())).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "ls", "latest", "--repo", missing.ToString())).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "snapshots")).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "check")).ShouldFailWith(ExitCodes.RepositoryNotFound);
        (await sandbox.RunAsync(builtProgram, "backup", sandbox.Source)).ShouldFailWith(ExitCodes.RepositoryNotFound);

        (await StorageAssert.CaptureAsync(sandbox.OpenStorage())).ShouldBeEmpty();
        using var absent = new S3Storage(missing, S3TestServer.Options);
        // Listing a bucket that does not exist fails: nothing made it.
        await Should.ThrowAsync<StorageException>(async () =>
        {
            await foreach (var _ in absent.ListAsync(StorageKind.Snapshot, CancellationToken.None))
            {
            }
        });
    }

    [Theory]
    [InlineData("s3:http://127.0.0.1:1/", "names no bucket")]
    [InlineData("s3:127.0.0.1:4566/bucket", "no http:// or https:// endpoint")]
    [InlineData("s3:http://127.0.0.1:1/Not_A_Bucket", "is not a valid bucket name")]
    public async Task A_malformed_s3_location_is_a_usage_error_saying_what_is_wrong(string location, string message)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        SmallTree().CreateIn(sandbox.Source);

        foreach (var args in new[] { ["init"], ["snapshots"], new[] { "backup", sandbox.Source } })
        {
            var result = await sandbox.Runner.With("ARCA_REPOSITORY", location).RunAsync(args);
            result.ShouldFailWith(ExitCodes.Usage);
            result.ErrorLines[0].ShouldContain(message, customMessage: result.ToString());
        }
        (await StorageAssert.CaptureAsync(sandbox.OpenStorage())).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("AWS_ACCESS_KEY_ID", false)]
    [InlineData("AWS_ACCESS_KEY_ID", true)]
    [InlineData("AWS_SECRET_ACCESS_KEY", false)]
    public async Task Missing_credentials_are_a_usage_error_naming_the_variable(string unset, bool builtProgram)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        await sandbox.InitAndBackupAsync(SmallTree());
        var before = await sandbox.CaptureAsync();
        var target = sandbox.Path("target");
        var runner = sandbox.Runner.With(unset, null);
        Task<CliResult> Run(params string[] args) => builtProgram ? runner.RunBinaryAsync(args) : runner.RunAsync(args);

        foreach (var args in new[] { ["init"], ["snapshots"], ["backup", sandbox.Source], new[] { "restore", "latest", "--target", target } })
        {
            var result = await Run(args);
            result.ShouldFailWith(ExitCodes.Usage);
            result.ErrorLines[0].ShouldContain(unset, customMessage: result.ToString());
        }

        await sandbox.AssertUnchangedAsync(before);
        Directory.Exists(target).ShouldBeFalse();
    }

    [Fact]
    public async Task A_server_that_does_not_answer_is_a_storage_error_without_a_stack_trace()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        SmallTree().CreateIn(sandbox.Source);
        // Nothing listens on port 9 of 127.0.0.1: every connection is refused, and the retries give up.
        var runner = sandbox.Runner.With("ARCA_REPOSITORY", "s3:http://127.0.0.1:9/bucket");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var result = await runner.RunAsync("snapshots");

        result.ShouldFailWith(ExitCodes.StorageFailed);
        result.ErrorLines[0].ShouldContain("s3:http://127.0.0.1:9/bucket", customMessage: result.ToString());
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(60), result.ToString());
    }
}
