using System.Text.Json;
using Arca.Repo;
using Arca.Sources.Postgres;
using Arca.Storage.Local;
using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// One test's world: a temp folder holding a repository (ARCA_REPOSITORY points to it), a runner for the CLI,
/// and the test databases it created on the test server, all dropped when the sandbox is disposed so the
/// server does not fill up.
/// </summary>
internal sealed class PgSandbox : IAsyncDisposable
{
    private readonly List<string> _databases = [];

    private PgSandbox(TempDirectory temp)
    {
        Temp = temp;
        Repository = temp.Combine("repo");
        Runner = new CliRunner(Repository);
    }

    public TempDirectory Temp { get; }
    public string Repository { get; }
    public CliRunner Runner { get; }

    /// <summary>A sandbox with an initialised repository (through the built program when <paramref name="binary"/> is set).</summary>
    public static async Task<PgSandbox> CreateAsync(bool binary = false)
    {
        await PgTestServer.EnsureStartedAsync();
        var sandbox = new PgSandbox(new TempDirectory("pg"));
        (await sandbox.RunAsync(binary, "init")).ShouldSucceed();
        return sandbox;
    }

    public Task<CliResult> RunAsync(params string[] args) => Runner.RunAsync(args);

    public Task<CliResult> RunAsync(bool binary, params string[] args) => binary ? Runner.RunBinaryAsync(args) : Runner.RunAsync(args);

    /// <summary>The sandbox's repository opened in this process, its index loaded: for tests that drive a backup's parts.</summary>
    public async Task<Repository> OpenRepositoryAsync()
    {
        var repository = await Arca.Repo.Repository.OpenAsync(new LocalStorage(Repository), CliRunner.DefaultPassword, CancellationToken.None);
        await repository.LoadIndexAsync(CancellationToken.None);
        return repository;
    }

    /// <summary>A new database, dropped with the sandbox, filled by <paramref name="sql"/>; returns its URL.</summary>
    public async Task<string> NewDatabaseAsync(string? sql = null, string? template = null)
    {
        var url = await PgTestServer.NewDatabaseAsync(template);
        _databases.Add(PgTestServer.DatabaseName(url));
        if (sql is not null)
        {
            await PgTestServer.ExecuteAsync(PgTestServer.DatabaseName(url), sql);
        }
        return url;
    }

    /// <summary>A copy of a database (which must have no open connections), dropped with the sandbox.</summary>
    public Task<string> CopyDatabaseAsync(string url) => NewDatabaseAsync(template: PgTestServer.DatabaseName(url));

    /// <summary>Backs up and returns the snapshot's id; fails the test unless the backup succeeds.</summary>
    public async Task<string> BackupAsync(params string[] args)
    {
        var result = await RunAsync(["backup", .. args, "--json"]);
        result.ShouldSucceed();
        using var json = result.Json();
        return json.RootElement.GetProperty("snapshot_id").GetString()!;
    }

    /// <summary>How many snapshots the repository holds.</summary>
    public async Task<int> SnapshotCountAsync()
    {
        var result = await RunAsync("snapshots", "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        return json.RootElement.GetArrayLength();
    }

    /// <summary>The table nodes of <c>arca ls latest DB/tables --json</c>: table name to row count.</summary>
    public async Task<Dictionary<string, long>> ListTablesAsync(string database, string snapshot = "latest")
    {
        var result = await RunAsync("ls", snapshot, database + "/tables", "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        return json.RootElement.GetProperty("nodes").EnumerateArray()
            .Where(n => n.TryGetProperty("table", out _))
            .ToDictionary(n => n.GetProperty("table").GetString()!, n => n.GetProperty("rows").GetInt64(), StringComparer.Ordinal);
    }

    /// <summary>A table restore with --json; returns the result and its one table's object (cloned).</summary>
    public async Task<(CliResult Result, JsonElement Table)> RestoreTableAsync(params string[] args)
    {
        var result = await RunAsync(["restore", .. args, "--json"]);
        result.ShouldSucceed();
        using var json = result.Json();
        var tables = json.RootElement.GetProperty("tables");
        tables.GetArrayLength().ShouldBe(1, result.ToString());
        return (result, tables[0].Clone());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            try
            {
                await PgTestServer.DropDatabaseAsync(database);
            }
            catch (Npgsql.NpgsqlException)
            {
                // Best effort: a failure here would hide the test's own.
            }
        }
        Temp.Dispose();
    }
}

/// <summary>Small helpers for the numbers of a table restore's JSON.</summary>
internal static class RestoreJson
{
    public static long Long(this JsonElement element, string name) => element.GetProperty(name).GetInt64();

    public static bool Bool(this JsonElement element, string name) => element.GetProperty(name).GetBoolean();

    public static List<string> Strings(this JsonElement element, string name) =>
        [.. element.GetProperty(name).EnumerateArray().Select(e => e.GetString()!)];
}

/// <summary>A backup driven in its parts, in this process: the read begun by a test, then run into a repository.</summary>
internal static class InProcessBackup
{
    public static Task<DatabaseRead> BeginAsync(string url, PostgresBackupOptions? options = null) =>
        DatabaseRead.BeginAsync(PostgresLocation.Parse(url), options ?? new PostgresBackupOptions(), TimeProvider.System, CancellationToken.None);

    public static Task<PostgresBackupResult> RunAsync(this DatabaseRead read, Repository repository) =>
        new PostgresBackup(repository, repository, repository, repository.Chunker).RunAsync(read, null, CancellationToken.None);
}

/// <summary>What the test server's sessions are doing (pg_stat_activity), waited for: the server shows a change a moment after it.</summary>
internal static class ServerActivity
{
    /// <summary>The count <paramref name="countSql"/> (run on the postgres database) gives once <paramref name="done"/> holds, or after about 10 s.</summary>
    public static async Task<long> CountAsync(string countSql, Func<long, bool> done)
    {
        var count = await PgTestServer.ScalarAsync<long>("postgres", countSql);
        for (var i = 0; i < 100 && !done(count); i++)
        {
            await Task.Delay(100);
            count = await PgTestServer.ScalarAsync<long>("postgres", countSql);
        }
        return count;
    }

    /// <summary>Arca's sessions on <paramref name="database"/>, once none is left (or after about 10 s).</summary>
    public static Task<long> ArcaSessionsLeftAsync(string database) => CountAsync(
        $"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' AND application_name = 'arca'", n => n == 0);

    /// <summary>Sessions on <paramref name="database"/> waiting for a lock while running a statement LIKE one of <paramref name="queries"/>, once there is one.</summary>
    public static Task<long> WaitingForALockAsync(string database, params string[] queries) => CountAsync(
        $"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' AND wait_event_type = 'Lock' AND " +
        $"({string.Join(" OR ", queries.Select(q => $"query LIKE '{q.Replace("'", "''", StringComparison.Ordinal)}'"))})", n => n > 0);
}
