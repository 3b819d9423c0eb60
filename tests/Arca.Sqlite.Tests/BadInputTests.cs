using System.Security.Cryptography;
using Arca.Cli;
using Arca.TestKit;

namespace Arca.Sqlite.Tests;

/// <summary>
/// Each mistake with a SQLite database gets its documented exit code and one short message (a sentence and a
/// hint, no stack trace), records no snapshot and changes no file: a file that is not a database (text, empty),
/// a database locked beyond the timeout, a corrupt database, a path that does not exist; at restore, a table the
/// snapshot lacks, a file restore over an existing file without --yes, a row filter holding two statements or
/// naming a column that is not there, a live table whose columns changed.
/// </summary>
public sealed class BadInputTests
{
    private const string Schema = """
        CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL NOT NULL, note TEXT);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
        INSERT INTO t SELECT i, i * 1.5, 'note ' || i FROM n;
        CREATE TABLE other (id INTEGER PRIMARY KEY, name TEXT);
        INSERT INTO other VALUES (1, 'one'), (2, 'two');
        """;

    /// <summary>A sandbox holding a snapshot of the live database app.db (the schema above, rollback-journal mode).</summary>
    private sealed record BackedUp(SqliteSandbox Sandbox, string Live) : IDisposable
    {
        public void Dispose() => Sandbox.Dispose();
    }

    /// <summary>Backs up app.db, then deletes 20 rows of t from it.</summary>
    private static async Task<BackedUp> BackedUpAsync()
    {
        var sandbox = await SqliteSandbox.CreateAsync();
        var live = sandbox.Path("app.db");
        Connections.Create(live, Schema);
        await sandbox.BackupAsync("sqlite:" + live);
        Connections.Create(live, "DELETE FROM t WHERE id % 10 = 0");
        return new BackedUp(sandbox, live);
    }

    /// <summary>Runs a backup that must fail with <paramref name="exitCode"/>, and checks that it recorded no snapshot.</summary>
    private static async Task<CliResult> BackupFailsAsync(SqliteSandbox sandbox, string path, int exitCode, params string[] options)
    {
        var result = await sandbox.RunAsync(["backup", "sqlite:" + path, .. options]);
        result.ShouldFailWith(exitCode);
        (await sandbox.SnapshotCountAsync()).ShouldBe(0, "a failed backup recorded a snapshot");
        return result;
    }

    /// <summary>Runs a table restore that must fail with <paramref name="exitCode"/>, and checks that the live database is as it was.</summary>
    private static async Task<CliResult> RestoreFailsAsync(SqliteSandbox sandbox, string live, int exitCode, params string[] options)
    {
        var before = await Sqlite3.DumpAsync(live);
        var result = await sandbox.RunAsync(["restore", "latest", "--to", "sqlite:" + live, "--yes", .. options]);
        result.ShouldFailWith(exitCode);
        (await Sqlite3.DumpAsync(live)).ShouldBe(before, "a failed restore changed the live database");
        return result;
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Theory]
    [InlineData("")]
    [InlineData("name=value\nthis is a settings file, not a database\n")]
    public async Task A_file_that_is_not_a_SQLite_database_is_refused_with_exit_40(string content)
    {
        using var sandbox = await SqliteSandbox.CreateAsync();
        var path = sandbox.Path("settings.db");
        await File.WriteAllTextAsync(path, content);
        var result = await BackupFailsAsync(sandbox, path, ExitCodes.NotSqlite);
        result.Error.ShouldContain(path);
        result.Error.ShouldContain(content.Length == 0 ? "is empty" : "not a SQLite database");
        (await File.ReadAllTextAsync(path)).ShouldBe(content);
    }

    [Fact]
    public async Task A_database_locked_beyond_the_timeout_is_refused_with_exit_41_and_no_snapshot()
    {
        using var sandbox = await SqliteSandbox.CreateAsync();
        var path = sandbox.Path("busy.db");
        Connections.Create(path, Schema);
        (await Sqlite3.QueryAsync(path, "PRAGMA journal_mode")).ShouldBe("delete");
        using (var holder = Connections.Open(path))
        {
            // An exclusive lock in rollback-journal mode keeps every reader out until it ends.
            holder.Execute("BEGIN EXCLUSIVE");
            holder.Execute("UPDATE t SET v = -v");
            var result = await BackupFailsAsync(sandbox, path, ExitCodes.DatabaseBusy, "--sqlite-timeout", "1");
            result.Error.ShouldContain("locked");
            holder.Execute("ROLLBACK");
        }
        // Once the lock is gone, the same backup goes through.
        await sandbox.BackupAsync("sqlite:" + path, "--sqlite-timeout", "1");
        (await sandbox.SnapshotCountAsync()).ShouldBe(1);
    }

    [Fact]
    public async Task A_corrupt_database_is_reported_with_exit_42_and_not_backed_up()
    {
        using var sandbox = await SqliteSandbox.CreateAsync();
        var path = sandbox.Path("bad.db");
        Connections.Create(path, """
            PRAGMA page_size = 4096;
            CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
            INSERT INTO t SELECT i, 'value ' || i || ' ' || hex(randomblob(16)) FROM n;
            """);
        // 64 bytes in the middle of one of the table's leaf pages, as a failing disk would leave them.
        var page = await Sqlite3.CountAsync(path, "SELECT pageno FROM dbstat WHERE name = 't' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 5");
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = (page - 1) * 4096 + 2048;
            await file.WriteAsync(Enumerable.Repeat((byte)0xFF, 64).ToArray());
        }
        (await Sqlite3.QueryAsync(path, "PRAGMA quick_check")).ShouldNotBe("ok");

        var result = await BackupFailsAsync(sandbox, path, ExitCodes.DatabaseCorrupt);
        result.Error.ShouldContain("corrupt");
        result.Error.ShouldContain("nothing was recorded");
    }

    [Fact]
    public async Task A_database_that_does_not_exist_is_exit_22_for_a_backup_and_for_a_restore()
    {
        using var backedUp = await BackedUpAsync();
        var (sandbox, live) = backedUp;
        var missing = sandbox.Path("no-such.db");
        var backup = await sandbox.RunAsync("backup", "sqlite:" + missing);
        backup.ShouldFailWith(ExitCodes.PathNotFound);
        backup.Error.ShouldContain(missing);
        (await sandbox.SnapshotCountAsync()).ShouldBe(1);

        (await sandbox.RunAsync("restore", "latest", "--table", "t", "--to", "sqlite:" + missing, "--yes")).ShouldFailWith(ExitCodes.PathNotFound);
        File.Exists(missing).ShouldBeFalse();
        // A database name the snapshot does not hold.
        (await sandbox.RunAsync("restore", "latest", "--sqlite", "no-such.db", "--target", missing)).ShouldFailWith(ExitCodes.PathNotFound);
        File.Exists(missing).ShouldBeFalse();
        (await Sqlite3.CountAsync(live, "SELECT count(*) FROM t")).ShouldBe(180);
    }

    [Fact]
    public async Task A_table_the_snapshot_lacks_is_exit_33()
    {
        using var backedUp = await BackedUpAsync();
        var (sandbox, live) = backedUp;
        var result = await RestoreFailsAsync(sandbox, live, ExitCodes.TableNotFound, "--table", "t,nope");
        result.Error.ShouldContain("nope");
    }

    [Fact]
    public async Task A_file_restore_over_an_existing_file_needs_yes_exit_43_and_the_file_is_untouched()
    {
        using var backedUp = await BackedUpAsync();
        var (sandbox, live) = backedUp;
        var damaged = Sha256(live);
        var result = await sandbox.RunAsync("restore", "latest", "--sqlite", "app.db", "--target", live);
        result.ShouldFailWith(ExitCodes.DatabaseInUse);
        result.Error.ShouldContain("--yes");
        Sha256(live).ShouldBe(damaged);
        Directory.GetFiles(sandbox.Temp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ShouldBe(["app.db"]);

        (await sandbox.RunAsync("restore", "latest", "--sqlite", "app.db", "--target", live, "--yes")).ShouldSucceed();
        (await Sqlite3.CountAsync(live, "SELECT count(*) FROM t")).ShouldBe(200);
        await Sqlite3.ShouldBeIntactAsync(live);
    }

    [Theory]
    [InlineData("1; DELETE FROM t")]
    [InlineData("id > 100; DROP TABLE other")]
    [InlineData("id > 100; DELETE FROM t; --")]
    public async Task A_filter_holding_two_statements_is_exit_35_and_nothing_is_written(string filter)
    {
        using var backedUp = await BackedUpAsync();
        var (sandbox, live) = backedUp;
        var result = await RestoreFailsAsync(sandbox, live, ExitCodes.FilterWrites, "--table", "t", "--where", filter);
        result.Error.ShouldContain("more than one SQL statement");
        (await Sqlite3.CountAsync(live, "SELECT count(*) FROM t")).ShouldBe(180);
    }

    [Fact]
    public async Task A_filter_with_a_semicolon_in_a_string_and_a_trailing_comment_is_one_statement()
    {
        using var backedUp = await BackedUpAsync();
        var (sandbox, live) = backedUp;
        var table = await sandbox.RestoreTableAsync("latest", "--table", "t", "--to", "sqlite:" + live, "--dry-run",
            "--where", "note <> 'a; DELETE FROM t' AND id <= 100 -- the first hundred");
        table.ShouldCount(insert: 10, update: 0, unchanged: 90, delete: 0);
    }

    [Fact]
    public async Task A_filter_on_a_column_that_is_not_there_is_exit_34()
    {
        using var backedUp = await BackedUpAsync();
        var (sandbox, live) = backedUp;
        var result = await RestoreFailsAsync(sandbox, live, ExitCodes.InvalidFilter, "--table", "t", "--where", "nope > 1");
        result.Error.ShouldContain("nope");
    }

    [Fact]
    public async Task A_live_table_whose_columns_changed_is_exit_36()
    {
        using var backedUp = await BackedUpAsync();
        var (sandbox, live) = backedUp;
        Connections.Create(live, "ALTER TABLE t RENAME COLUMN note TO remark");
        var result = await RestoreFailsAsync(sandbox, live, ExitCodes.TableMismatch, "--table", "t");
        result.Error.ShouldContain("'note' is missing");
    }
}
