using System.Diagnostics;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// prune killed with SIGKILL at random moments: whatever step it was in, the repository must check clean with
/// every byte read, keep every blob of the snapshots that stay, and let the next prune finish the work.
/// </summary>
public sealed class PruneCrashTests
{
    private const int Trials = 24;

    [Fact]
    public async Task A_prune_killed_at_random_points_never_leaves_a_damaged_repository_or_loses_a_kept_blob()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.Local);
        var env = sandbox.BinaryEnvironment();
        (await BuiltProgram.ArcaAsync(env, "init")).Code.ShouldBe(0);
        // Twelve backups, each adding a file and dropping an older one: every backup writes a pack and an index
        // file, so after forgetting all but three, prune has packs to delete, packs to repack and index files
        // to replace, a step at a time.
        var random = new Random(3);
        for (var i = 0; i < 12; i++)
        {
            var bytes = new byte[random.Next(300_000, 900_000)];
            random.NextBytes(bytes);
            await File.WriteAllBytesAsync(Path.Combine(Directory.CreateDirectory(sandbox.Source).FullName, $"f{i}.bin"), bytes);
            if (i >= 2)
            {
                File.Delete(Path.Combine(sandbox.Source, $"f{i - 2}.bin"));
            }
            (await BuiltProgram.ArcaAsync(env, "backup", sandbox.Source, "--quiet")).Code.ShouldBe(0);
        }
        var forget = await BuiltProgram.ArcaAsync(env, "forget", "--keep-last", "3");
        forget.Code.ShouldBe(0, forget.Error);
        var template = sandbox.Repository;
        var program = await BuiltProgram.PathAsync();

        // How long a whole prune takes here, so the kills fall across all of it.
        var timed = CopyRepository(template, sandbox.Path("timed"));
        var clock = Stopwatch.StartNew();
        var full = await BuiltProgram.RunAsync(program, ["prune", "--max-unused", "0%", "--json"], With(env, timed), TimeSpan.FromMinutes(2));
        var duration = clock.Elapsed;
        full.Code.ShouldBe(0, full.Error);
        full.Out.ShouldContain("\"packs_repacked\":");

        var killedMidway = 0;
        for (var trial = 0; trial < Trials; trial++)
        {
            var copy = CopyRepository(template, sandbox.Path($"trial{trial}"));
            var trialEnv = With(env, copy);
            // Spread over the whole run (a run after the first is often quicker, its files being cached).
            var delay = TimeSpan.FromTicks((long)(duration.Ticks * 0.9 * random.NextDouble()));
            using (var prune = BuiltProgram.Start(program, ["prune", "--max-unused", "0%", "--quiet"], trialEnv))
            {
                prune.StandardInput.Close();
                var exited = prune.WaitForExit(delay);
                if (!exited)
                {
                    prune.Kill(); // SIGKILL
                    killedMidway++;
                }
                await prune.WaitForExitAsync();
            }

            var check = await BuiltProgram.RunAsync(program, ["check", "--read-data"], trialEnv, TimeSpan.FromMinutes(2));
            check.Code.ShouldBe(0, $"trial {trial} (killed after {delay.TotalMilliseconds:0} ms): {check.Out}{check.Error}");
            (await BuiltProgram.RunAsync(program, ["snapshots", "--json"], trialEnv, TimeSpan.FromMinutes(1))).Out
                .Split("\"id\"").Length.ShouldBe(4, $"trial {trial}: the three kept snapshots");
            if (trial % 6 == 0)
            {
                // Finishing the work after a kill leaves a clean, fully pruned repository that restores.
                var again = await BuiltProgram.RunAsync(program, ["prune", "--max-unused", "0%"], trialEnv, TimeSpan.FromMinutes(2));
                again.Code.ShouldBe(0, again.Error);
                var restore = await BuiltProgram.RunAsync(program, ["restore", "latest", "--target", sandbox.Path($"restored{trial}")],
                    trialEnv, TimeSpan.FromMinutes(2));
                restore.Code.ShouldBe(0, restore.Error);
                TreeAssert.Identical(sandbox.Source, sandbox.Path($"restored{trial}", "src"));
                var final = await BuiltProgram.RunAsync(program, ["check", "--read-data", "--json"], trialEnv, TimeSpan.FromMinutes(2));
                final.Code.ShouldBe(0, final.Error);
                final.Out.ShouldContain("\"unreferenced_packs\":0");
            }
        }
        // Most kills must land while prune runs, or the test proves little.
        killedMidway.ShouldBeGreaterThanOrEqualTo(Trials / 2);
    }

    private static Dictionary<string, string> With(Dictionary<string, string> env, string repository) =>
        new(env, StringComparer.Ordinal) { ["ARCA_REPOSITORY"] = repository };

    private static string CopyRepository(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        foreach (var folder in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, folder)));
        }
        return to;
    }
}
