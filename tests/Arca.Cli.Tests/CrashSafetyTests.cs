using Arca.Storage;
using Arca.TestKit;
namespace Arca.Cli.Tests;

/// <summary>
/// SIGKILL in the middle of a backup: the repository must still check clean and take the next backup. Runs once
/// per <see cref="Cli.Tests.Backend"/>.
/// </summary>
public abstract class CrashSafetyTests
{
    protected abstract Backend Backend { get; }

    private static string MakeSource(CliSandbox sandbox)
    {
        // Random bytes: every chunk is new and incompressible, so the backup writes many packs.
        var source = sandbox.Path("source");
        var random = new Random(42);
        for (var i = 0; i < 36; i++)
        {
            var folder = Path.Combine(source, $"d{i % 6}");
            Directory.CreateDirectory(folder);
            var bytes = new byte[random.Next(6 << 20, 14 << 20)];
            random.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(folder, $"f{i}.bin"), bytes);
        }
        return source;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public async Task A_backup_killed_after_some_packs_leaves_a_repository_that_checks_clean_and_backs_up_again(int packsBeforeKill)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        var env = sandbox.BinaryEnvironment();
        var source = MakeSource(sandbox);
        (await BuiltProgram.ArcaAsync(env, "init")).Code.ShouldBe(0);

        using (var backup = BuiltProgram.Start(await BuiltProgram.PathAsync(), ["backup", source, "--quiet"], env))
        {
            backup.StandardInput.Close();
            // Watched from a dedicated thread: a thread-pool timer can be late by hundreds of milliseconds when
            // other test classes load the machine, and the backup would finish before the kill.
            var killed = await Task.Factory.StartNew(() =>
            {
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while (!backup.HasExited && DateTime.UtcNow < deadline)
                {
                    // Blocking is fine on this thread of its own; for a folder the count completes at once.
                    var packs = sandbox.PackNamesAsync().GetAwaiter().GetResult().Count(name => !name.StartsWith('.'));
                    if (packs >= packsBeforeKill)
                    {
                        backup.Kill(); // SIGKILL: no cleanup runs.
                        return true;
                    }
                    Thread.Sleep(1);
                }
                return false;
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await backup.WaitForExitAsync();
            killed.ShouldBeTrue("the backup finished before it could be killed; the test data is too small");
        }
        (await sandbox.NamesAsync(StorageKind.Snapshot)).ShouldBeEmpty();

        var check = await BuiltProgram.ArcaAsync(env, "check", "--read-data");
        check.Code.ShouldBe(0, check.Out + check.Error);

        var again = await BuiltProgram.ArcaAsync(env, "backup", source, "--json");
        again.Code.ShouldBe(0, again.Error);

        // The lock the killed process left is stale (its pid is gone) and did not block anything.
        var restore = await BuiltProgram.ArcaAsync(env, "restore", "latest", "--target", sandbox.Path("restored"));
        restore.Code.ShouldBe(0, restore.Error);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var copy = sandbox.Path("restored", "source", Path.GetRelativePath(source, file));
            File.ReadAllBytes(copy).ShouldBe(File.ReadAllBytes(file), copy);
        }
        var final = await BuiltProgram.ArcaAsync(env, "check", "--read-data");
        final.Code.ShouldBe(0, final.Out + final.Error);
    }
}

public sealed class CrashSafetyTestsOnLocal : CrashSafetyTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class CrashSafetyTestsOnS3 : CrashSafetyTests
{
    protected override Backend Backend => Backend.S3;
}
