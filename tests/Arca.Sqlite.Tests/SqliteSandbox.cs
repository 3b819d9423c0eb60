using System.Text.Json;
using Arca.TestKit;

namespace Arca.Sqlite.Tests;

/// <summary>
/// One test's world: a temp folder holding a repository (ARCA_REPOSITORY points to it) and the test's database
/// files, and the built <c>arca</c> run on them as a user would run it (a separate process, so SQLite's file
/// locks between arca and the test's own connections are the real ones between two programs). arca's temporary
/// folder is one of the sandbox's own, and every run must leave it empty, whether it succeeded or failed.
/// </summary>
internal sealed class SqliteSandbox : IDisposable
{
    private SqliteSandbox(TempDirectory temp)
    {
        Temp = temp;
        Repository = temp.Combine("repo");
        TemporaryFolder = Directory.CreateDirectory(temp.Combine("tmp")).FullName;
        Runner = new CliRunner(Repository).With("TMPDIR", TemporaryFolder);
    }

    /// <summary>The TMPDIR of every run.</summary>
    public string TemporaryFolder { get; }

    public TempDirectory Temp { get; }
    public string Repository { get; }
    public CliRunner Runner { get; }

    /// <summary>A sandbox with an initialised repository.</summary>
    public static async Task<SqliteSandbox> CreateAsync()
    {
        var sandbox = new SqliteSandbox(new TempDirectory("sqlite"));
        (await sandbox.RunAsync("init")).ShouldSucceed();
        return sandbox;
    }

    /// <summary>A path inside the sandbox's folder; nothing is created.</summary>
    public string Path(params string[] parts) => Temp.Combine(parts);

    /// <summary>Runs the built program; fails the test if the run left anything in its temporary folder.</summary>
    public async Task<CliResult> RunAsync(params string[] args)
    {
        var result = await Runner.RunBinaryAsync(args);
        Directory.EnumerateFileSystemEntries(TemporaryFolder).Select(System.IO.Path.GetFileName)
            .ShouldBeEmpty($"arca {string.Join(' ', args)} left these in its temporary folder");
        return result;
    }

    /// <summary>Backs up and returns the snapshot's id and the JSON summary; fails the test unless the backup succeeds.</summary>
    public async Task<(string Id, JsonElement Summary)> BackupAsync(params string[] args)
    {
        var result = await RunAsync(["backup", .. args, "--json"]);
        result.ShouldSucceed();
        using var json = result.Json();
        return (json.RootElement.GetProperty("snapshot_id").GetString()!, json.RootElement.Clone());
    }

    /// <summary>How many snapshots the repository holds.</summary>
    public async Task<int> SnapshotCountAsync()
    {
        var result = await RunAsync("snapshots", "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        return json.RootElement.GetArrayLength();
    }

    /// <summary>The node of <c>arca ls SNAPSHOT --json</c> that is the database <paramref name="name"/> (cloned).</summary>
    public async Task<JsonElement> DatabaseNodeAsync(string name, string snapshot = "latest")
    {
        var result = await RunAsync("ls", snapshot, "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        var nodes = json.RootElement.GetProperty("nodes").EnumerateArray()
            .Where(n => n.TryGetProperty("database", out var database) && database.GetString() == name).ToList();
        nodes.Count.ShouldBe(1, result.ToString());
        return nodes[0].Clone();
    }

    /// <summary>The tables of a database node: name to (rows, checksum), in the order listed.</summary>
    public static List<(string Name, long Rows, string Checksum)> TablesOf(JsonElement node) =>
        [.. node.GetProperty("tables").EnumerateArray().Select(t => (t.GetProperty("name").GetString()!, t.GetProperty("rows").GetInt64(), t.GetProperty("checksum").GetString()!))];

    /// <summary>A table restore with --json that must succeed; returns its one table's object (cloned).</summary>
    public async Task<JsonElement> RestoreTableAsync(params string[] args)
    {
        var result = await RunAsync(["restore", .. args, "--json"]);
        result.ShouldSucceed();
        using var json = result.Json();
        var tables = json.RootElement.GetProperty("tables");
        tables.GetArrayLength().ShouldBe(1, result.ToString());
        return tables[0].Clone();
    }

    public void Dispose() => Temp.Dispose();
}

/// <summary>Reading the numbers of a table restore's JSON.</summary>
internal static class RestoreJson
{
    public static long Long(this JsonElement element, string name) => element.GetProperty(name).GetInt64();

    public static bool Bool(this JsonElement element, string name) => element.GetProperty(name).GetBoolean();

    /// <summary>Fails unless a table restore counted exactly these rows.</summary>
    public static void ShouldCount(this JsonElement table, long insert, long update, long unchanged, long delete)
    {
        table.Long("insert").ShouldBe(insert, table.ToString());
        table.Long("update").ShouldBe(update, table.ToString());
        table.Long("unchanged").ShouldBe(unchanged, table.ToString());
        table.Long("delete").ShouldBe(delete, table.ToString());
    }
}
