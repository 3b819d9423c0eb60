using Arca.TestKit;
namespace Arca.Cli.Tests;

/// <summary>SIGKILL in the middle of a backup: the repository must still check clean and take the next backup.</summary>
public sealed class CrashSafetyTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly Dictionary<string, string> _env;

    public CrashSafetyTests()
    {
        _env = new()
        {
            ["ARCA_REPOSITORY"] = Path.Combine(_temp.Path, "repo"),
            ["ARCA_PASSWORD"] = "crash-test",
            ["ARCA_INSECURE_TEST_KDF"] = "1",
        };
    }

    public void Dispose() => _temp.Dispose();

    private string MakeSource()
    {
        // Random bytes: every chunk is new and incompressible, so the backup writes many packs.
        var source = Path.Combine(_temp.Path, "source");
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
        var source = MakeSource();
        (await BuiltProgram.ArcaAsync(_env, "init")).Code.ShouldBe(0);
        var data = Path.Combine(_temp.Path, "repo", "data");

        using (var backup = BuiltProgram.Start(await BuiltProgram.PathAsync(), ["backup", source, "--quiet"], _env))
        {
            backup.StandardInput.Close();
            // Watched from a dedicated thread: a thread-pool timer can be late by hundreds of milliseconds when
            // other test classes load the machine, and the backup would finish before the kill.
            var killed = await Task.Factory.StartNew(() =>
            {
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while (!backup.HasExited && DateTime.UtcNow < deadline)
                {
                    var packs = Directory.Exists(data)
                        ? Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Count(f => !Path.GetFileName(f).StartsWith('.'))
                        : 0;
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
        Directory.GetFiles(Path.Combine(_temp.Path, "repo", "snapshots")).ShouldBeEmpty();

        var check = await BuiltProgram.ArcaAsync(_env, "check", "--read-data");
        check.Code.ShouldBe(0, check.Out + check.Error);

        var again = await BuiltProgram.ArcaAsync(_env, "backup", source, "--json");
        again.Code.ShouldBe(0, again.Error);

        // The lock the killed process left is stale (its pid is gone) and did not block anything.
        var restore = await BuiltProgram.ArcaAsync(_env, "restore", "latest", "--target", Path.Combine(_temp.Path, "restored"));
        restore.Code.ShouldBe(0, restore.Error);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(_temp.Path, "restored", "source", Path.GetRelativePath(source, file));
            File.ReadAllBytes(copy).ShouldBe(File.ReadAllBytes(file), copy);
        }
        var final = await BuiltProgram.ArcaAsync(_env, "check", "--read-data");
        final.Code.ShouldBe(0, final.Out + final.Error);
    }
}
