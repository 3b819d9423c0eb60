using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// An entry the backup cannot take (here a FIFO: tests run as root, so a mode-000 file would still be
/// readable) makes the backup partial: exit code 3, the entry named on standard error and in the JSON, the
/// snapshot marked partial, and everything else backed up and restorable. Runs once per <see cref="Cli.Tests.Backend"/>.
/// </summary>
public abstract class PartialBackupTests
{
    protected abstract Backend Backend { get; }

    private static TreeFixture TreeWithFifo() => new TreeFixture()
        .File("a.txt", "alpha\n")
        .File("sub/b.txt", "bravo\n")
        .Fifo("sub/pipe");

    [Fact]
    public async Task A_fifo_makes_the_backup_partial_with_exit_code_3_and_is_named_in_the_json()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        TreeWithFifo().CreateIn(sandbox.Source);
        await sandbox.InitAsync();

        var result = await sandbox.RunAsync("backup", sandbox.Source, "--json");

        result.ExitCode.ShouldBe(ExitCodes.Partial, result.ToString());
        result.Error.ShouldContain(Path.Combine(sandbox.Source, "sub", "pipe"));
        result.Error.ShouldNotContain("   at ");
        using var json = result.Json();
        var root = json.RootElement;
        root.GetProperty("partial").GetBoolean().ShouldBeTrue();
        root.GetProperty("total_files").GetInt64().ShouldBe(2);
        var errors = root.GetProperty("errors").EnumerateArray().ToList();
        errors.Count.ShouldBe(1);
        errors[0].GetProperty("path").GetString().ShouldBe(Path.Combine(sandbox.Source, "sub", "pipe"));
        errors[0].GetProperty("message").GetString().ShouldNotBeNullOrWhiteSpace();
        var id = root.GetProperty("snapshot_id").GetString();

        var snapshots = await sandbox.RunAsync("snapshots", "--json");
        snapshots.ShouldSucceed();
        using var list = snapshots.Json();
        var snapshot = list.RootElement.EnumerateArray().Single();
        snapshot.GetProperty("id").GetString().ShouldBe(id);
        snapshot.GetProperty("partial").GetBoolean().ShouldBeTrue();

        var text = await sandbox.RunAsync("snapshots");
        text.Out.ShouldContain("(partial)");
    }

    [Fact]
    public async Task A_partial_snapshot_restores_everything_but_the_skipped_entry()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        TreeWithFifo().CreateIn(sandbox.Source);
        await sandbox.InitAsync();

        var backup = await sandbox.RunAsync("backup", sandbox.Source);
        backup.ExitCode.ShouldBe(ExitCodes.Partial, backup.ToString());
        backup.Out.ShouldContain("partial");
        backup.Error.ShouldContain("pipe");

        var target = sandbox.Path("target");
        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldSucceed();
        // The expected tree is the source without the FIFO, with the folder mtime the backup saw.
        var sub = Path.Combine(sandbox.Source, "sub");
        var subTime = TreeAssert.Capture(sub)["."].ModifyTimeNs;
        File.Delete(Path.Combine(sub, "pipe"));
        Arca.Native.Posix.SetTimes(sub, subTime, subTime, noFollow: true);
        using (var ls = (await sandbox.RunAsync("ls", "latest", "/src/sub", "--json")).Json())
        {
            ls.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("path").GetString())
                .ShouldBe(["/src/sub", "/src/sub/b.txt"]);
        }
        TreeAssert.Identical(sandbox.Source, Path.Combine(target, "src"));
        (await sandbox.RunAsync("check", "--read-data")).ShouldSucceed();
    }
}

public sealed class PartialBackupTestsOnLocal : PartialBackupTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class PartialBackupTestsOnS3 : PartialBackupTests
{
    protected override Backend Backend => Backend.S3;
}
