using Arca.Cli;
using Arca.TestKit;
using Microsoft.Data.Sqlite;

namespace Arca.Postgres.Tests;

/// <summary>
/// A table backed up from SQLite restores into a PostgreSQL table with the same column names, and back: values keep
/// their meaning (numbers, text with tabs, newlines and backslashes, unicode, blobs as bytea, booleans as 1 and 0),
/// and a value that has no counterpart in the target column stops the restore with one sentence and exit 36,
/// writing nothing.
/// </summary>
public sealed class CrossEngineTests
{
    private const string TrickyText = "tab\there, new\nline, back\\slash, \"quotes\", héllo → 世界";

    private static string NewSqliteFile(PgSandbox sandbox, string name, string sql)
    {
        var path = sandbox.Temp.Combine(name);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
        return path;
    }

    private static List<object?[]> SqliteRows(string path, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }
            rows.Add(row);
        }
        return rows;
    }

    private static readonly string ItemsSqlite = $"""
        CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, data BLOB, flag INTEGER, note TEXT);
        INSERT INTO items VALUES (1, '{TrickyText.Replace("'", "''", StringComparison.Ordinal)}', 12.5, x'00ff10', 1, NULL);
        INSERT INTO items VALUES (2, 'plain', -0.1, NULL, 0, 'a note');
        INSERT INTO items VALUES (3, 'big', 1e300, zeroblob(70000), NULL, '');
        WITH RECURSIVE g(n) AS (SELECT 4 UNION ALL SELECT n + 1 FROM g WHERE n < 500)
        INSERT INTO items SELECT n, 'item ' || n, n * 0.25, randomblob(n % 50), n % 2, CASE WHEN n % 3 = 0 THEN NULL ELSE 'n' || n END FROM g;
        """;

    [Fact]
    public async Task A_SQLite_table_restores_into_a_PostgreSQL_table_with_its_values_converted()
    {
        await using var sandbox = await PgSandbox.CreateAsync(binary: true);
        var file = NewSqliteFile(sandbox, "app.db", ItemsSqlite);
        (await sandbox.RunAsync(true, "backup", "sqlite:" + file)).ShouldSucceed();
        var url = await sandbox.NewDatabaseAsync("CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL, price double precision, data bytea, flag boolean, note text)");
        var name = PgTestServer.DatabaseName(url);

        var dryRun = await sandbox.RunAsync(true, "restore", "latest", "--table", "items", "--to", url, "--dry-run", "--json");
        dryRun.ShouldSucceed();
        using (var json = dryRun.Json())
        {
            json.RootElement.GetProperty("tables")[0].GetProperty("insert").GetInt64().ShouldBe(500);
        }
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM public.items")).ShouldBe(0);

        (await sandbox.RunAsync(true, "restore", "latest", "--table", "items", "--to", url, "--yes")).ShouldSucceed();
        var expected = SqliteRows(file, "SELECT id, name, price, lower(hex(data)), flag, note FROM items ORDER BY id");
        var actual = await PgTestServer.RowsAsync(name, "SELECT id, name, price, encode(data, 'hex'), flag::int, note FROM public.items ORDER BY id");
        actual.Count.ShouldBe(500);
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            a[0].ShouldBe(Convert.ToString(e[0], System.Globalization.CultureInfo.InvariantCulture));
            a[1].ShouldBe((string)e[1]!);
            (a[2] is null ? (double?)null : double.Parse(a[2]!, System.Globalization.CultureInfo.InvariantCulture)).ShouldBe(e[2] is null ? null : Convert.ToDouble(e[2], System.Globalization.CultureInfo.InvariantCulture));
            (a[3] ?? "").ShouldBe((string?)e[3] ?? "");
            a[4].ShouldBe(e[4] is null ? null : Convert.ToString(e[4], System.Globalization.CultureInfo.InvariantCulture));
            a[5].ShouldBe((string?)e[5]);
        }
        actual[0][1].ShouldBe(TrickyText);

        // Restoring again changes nothing: every row compares equal across the engines.
        var again = await sandbox.RunAsync(true, "restore", "latest", "--table", "items", "--to", url, "--mode", "upsert", "--dry-run", "--json");
        again.ShouldSucceed();
        using var againJson = again.Json();
        againJson.RootElement.GetProperty("tables")[0].GetProperty("unchanged").GetInt64().ShouldBe(500);
    }

    [Fact]
    public async Task SQLite_rows_with_a_null_primary_key_stop_a_restore_with_exit_36_and_write_nothing()
    {
        // SQLite lets a primary key other than an INTEGER one hold NULL; no live row can match such a row.
        await using var sandbox = await PgSandbox.CreateAsync(binary: true);
        var file = NewSqliteFile(sandbox, "codes.db", "CREATE TABLE t (code TEXT PRIMARY KEY, v TEXT); INSERT INTO t VALUES ('a', '1'), (NULL, 'lost1'), (NULL, 'lost2');");
        (await sandbox.RunAsync(true, "backup", "sqlite:" + file)).ShouldSucceed();
        var url = await sandbox.NewDatabaseAsync("CREATE TABLE public.t (code text PRIMARY KEY, v text); INSERT INTO public.t VALUES ('a', '1')");

        var result = await sandbox.RunAsync(true, "restore", "latest", "--table", "t", "--to", url, "--mode", "upsert", "--yes");

        result.ShouldFailWith(ExitCodes.TableMismatch);
        result.Error.ShouldContain("2 rows of main.t in the snapshot have no value in its primary key (code)");
        (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(url), "SELECT count(*) FROM public.t")).ShouldBe(1);
    }


    [Fact]
    public async Task A_SQLite_blob_bound_for_a_PostgreSQL_text_column_stops_the_restore_with_exit_36_and_writes_nothing()
    {
        await using var sandbox = await PgSandbox.CreateAsync(binary: true);
        var file = NewSqliteFile(sandbox, "app.db", ItemsSqlite);
        (await sandbox.RunAsync(true, "backup", "sqlite:" + file)).ShouldSucceed();
        var url = await sandbox.NewDatabaseAsync("CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL, price double precision, data text, flag boolean, note text)");

        var result = await sandbox.RunAsync(true, "restore", "latest", "--table", "items", "--to", url, "--yes");
        result.ShouldFailWith(ExitCodes.TableMismatch);
        result.Error.ShouldContain("does not convert to text");
        (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(url), "SELECT count(*) FROM public.items")).ShouldBe(0);
    }

    [Fact]
    public async Task A_SQLite_text_that_is_no_date_stops_a_restore_into_a_date_column_with_exit_36()
    {
        await using var sandbox = await PgSandbox.CreateAsync(binary: true);
        var file = NewSqliteFile(sandbox, "app.db", "CREATE TABLE events (id INTEGER PRIMARY KEY, day TEXT); INSERT INTO events VALUES (1, '2024-02-29'), (2, 'someday');");
        (await sandbox.RunAsync(true, "backup", "sqlite:" + file)).ShouldSucceed();
        var url = await sandbox.NewDatabaseAsync("CREATE TABLE public.events (id bigint PRIMARY KEY, day date)");

        var result = await sandbox.RunAsync(true, "restore", "latest", "--table", "events", "--to", url, "--yes");
        result.ShouldFailWith(ExitCodes.TableMismatch);
        result.Error.ShouldContain("someday");
        (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(url), "SELECT count(*) FROM public.events")).ShouldBe(0);
    }

    [Fact]
    public async Task A_PostgreSQL_table_restores_into_a_SQLite_table_and_NaN_is_refused()
    {
        await using var sandbox = await PgSandbox.CreateAsync(binary: true);
        var url = await sandbox.NewDatabaseAsync($"""
            CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2), ratio double precision, data bytea, flag boolean);
            INSERT INTO public.items VALUES (1, {"'" + TrickyText.Replace("'", "''", StringComparison.Ordinal) + "'"}, 12.50, 0.1, '\x00ff10', true),
                                            (2, 'plain', NULL, 'Infinity', NULL, false);
            INSERT INTO public.items SELECT g, 'item ' || g, g * 1.25, g / 3.0, decode(md5(g::text), 'hex'), g % 2 = 0 FROM generate_series(3, 300) AS g;
            """);
        await sandbox.BackupAsync(url);
        var file = NewSqliteFile(sandbox, "live.db", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC, ratio REAL, data BLOB, flag INTEGER)");

        (await sandbox.RunAsync(true, "restore", "latest", "--table", "public.items", "--to", "sqlite:" + file, "--yes")).ShouldSucceed();
        var rows = SqliteRows(file, "SELECT id, name, price, ratio, hex(data), flag, typeof(price), typeof(flag) FROM items ORDER BY id");
        rows.Count.ShouldBe(300);
        rows[0][1].ShouldBe(TrickyText);
        rows[0][2].ShouldBe(12.5);
        rows[0][3].ShouldBe(0.1);
        rows[0][4].ShouldBe("00FF10");
        rows[0][5].ShouldBe(1L);
        rows[1][2].ShouldBeNull();
        rows[1][3].ShouldBe(double.PositiveInfinity);
        rows[1][5].ShouldBe(0L);
        rows[2][6].ShouldBe("real");
        rows[2][7].ShouldBe("integer");

        await PgTestServer.ExecuteAsync(PgTestServer.DatabaseName(url), "UPDATE public.items SET ratio = 'NaN' WHERE id = 5");
        await sandbox.BackupAsync(url);
        NewSqliteFile(sandbox, "live.db", "DELETE FROM items WHERE id = 5");
        var result = await sandbox.RunAsync(true, "restore", "latest", "--table", "public.items", "--to", "sqlite:" + file, "--yes");
        result.ShouldFailWith(ExitCodes.TableMismatch);
        result.Error.ShouldContain("NaN");
        SqliteRows(file, "SELECT count(*) FROM items")[0][0].ShouldBe(299L);
    }
}
