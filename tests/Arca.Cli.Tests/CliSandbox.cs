using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// One test's world: its own temp folder holding a repository path (ARCA_REPOSITORY points there), a source
/// folder and restore targets, and a runner for the CLI in process or as the built program.
/// </summary>
internal sealed class CliSandbox : IDisposable
{
    public CliSandbox()
    {
        Temp = new TempDirectory("cli");
        Repository = Temp.Combine("repo");
        Source = Temp.Combine("src");
        Runner = new CliRunner(Repository);
    }

    public TempDirectory Temp { get; }
    public string Repository { get; }
    /// <summary>Where a fixture is materialised; a backup of it is stored as "/src".</summary>
    public string Source { get; }
    public CliRunner Runner { get; }

    public string Path(params string[] parts) => Temp.Combine(parts);

    /// <summary>Runs in process, or the built program when <paramref name="binary"/> is set.</summary>
    public Task<CliResult> RunAsync(bool binary, params string[] args) =>
        binary ? Runner.RunBinaryAsync(args) : Runner.RunAsync(args);

    public Task<CliResult> RunAsync(params string[] args) => Runner.RunAsync(args);

    public async Task InitAsync(bool binary = false) => (await RunAsync(binary, "init")).ShouldSucceed();

    /// <summary>Materialises <paramref name="tree"/> in <see cref="Source"/>, creates the repository and backs it up once.</summary>
    public async Task<string> InitAndBackupAsync(TreeFixture tree)
    {
        tree.CreateIn(Source);
        await InitAsync();
        return await BackupAsync();
    }

    /// <summary>Backs up <see cref="Source"/> and returns the new snapshot's id.</summary>
    public async Task<string> BackupAsync()
    {
        var result = await RunAsync("backup", Source, "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        return json.RootElement.GetProperty("snapshot_id").GetString()!;
    }

    public async Task<List<string>> SnapshotIdsAsync()
    {
        var result = await RunAsync("snapshots", "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        return [.. json.RootElement.EnumerateArray().Select(s => s.GetProperty("id").GetString()!)];
    }

    public void Dispose() => Temp.Dispose();
}
