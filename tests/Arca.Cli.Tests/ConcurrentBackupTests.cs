using System.Diagnostics;
using Arca.Storage;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>Several hosts backing up into one repository at the same moment, as separate processes.</summary>
public abstract class ConcurrentBackupTests
{
    protected abstract Backend Backend { get; }

    [Fact]
    public async Task Four_backups_started_at_once_all_succeed_and_every_snapshot_restores_exactly()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        var env = sandbox.BinaryEnvironment();
        (await BuiltProgram.ArcaAsync(env, "init")).Code.ShouldBe(0);
        var sources = new List<string>();
        var shared = new byte[3 << 20];
        new Random(1).NextBytes(shared);
        for (var i = 0; i < 4; i++)
        {
            // Each has data of its own and the same shared file, so the four race to store the same blobs too.
            var source = sandbox.Path($"host{i}", "data");
            Directory.CreateDirectory(source);
            var own = new byte[(4 << 20) + i * 77777];
            new Random(100 + i).NextBytes(own);
            await File.WriteAllBytesAsync(Path.Combine(source, "own.bin"), own);
            await File.WriteAllBytesAsync(Path.Combine(source, "shared.bin"), shared);
            await File.WriteAllTextAsync(Path.Combine(source, "notes.txt"), $"host {i}\n");
            sources.Add(source);
        }
        var program = await BuiltProgram.PathAsync();

        var processes = sources.Select((source, i) => BuiltProgram.Start(program, ["backup", source, "--host", $"host{i}", "--json"], env)).ToList();
        var results = await Task.WhenAll(processes.Select(async p =>
        {
            p.StandardInput.Close();
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            return (p.ExitCode, Out: await output, Error: await error);
        }));
        foreach (var process in processes)
        {
            process.Dispose();
        }

        results.ShouldAllBe(r => r.ExitCode == 0, string.Join("\n", results.Select(r => r.Error)));
        (await sandbox.NamesAsync(StorageKind.Snapshot)).Count.ShouldBe(4);
        (await sandbox.NamesAsync(StorageKind.Lock)).ShouldBeEmpty();
        for (var i = 0; i < 4; i++)
        {
            var target = sandbox.Path($"restore{i}");
            var restore = await BuiltProgram.ArcaAsync(env, "restore", "latest", "--host", $"host{i}", "--target", target);
            restore.Code.ShouldBe(0, restore.Error);
            TreeAssert.Identical(sources[i], Path.Combine(target, "data"));
        }
        var check = await BuiltProgram.ArcaAsync(env, "check", "--read-data");
        check.Code.ShouldBe(0, check.Out + check.Error);
    }
}

public sealed class ConcurrentBackupTestsOnLocal : ConcurrentBackupTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class ConcurrentBackupTestsOnS3 : ConcurrentBackupTests
{
    protected override Backend Backend => Backend.S3;
}
