using System.Globalization;
using System.Text;
using Arca.Repo;
using Arca.Sources.Postgres;
using Arca.Storage.Local;
using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// A large table is read as its rows lie and put in key order by the backup itself (PhysicalScan): what is
/// stored must be byte for byte what ORDER BY gives, however far from key order the rows lie on disk.
/// </summary>
public sealed class PhysicalScanTests
{
    /// <summary>Two tables of about 40 MB, above the size from which the physical read is used; one keyed by a uuid in its second column.</summary>
    private const string WideTableSql = """
        CREATE TABLE public.wide (id bigint PRIMARY KEY, pad text NOT NULL, n integer) WITH (autovacuum_enabled = off);
        INSERT INTO public.wide SELECT g, repeat(md5(g::text), 6), g FROM generate_series(1, 170000) AS g;
        CREATE TABLE public.wide_uuid (n integer NOT NULL, id uuid PRIMARY KEY, pad text NOT NULL);
        INSERT INTO public.wide_uuid SELECT g, ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, repeat(md5(g::text), 6) FROM generate_series(1, 150000) AS g;
        CREATE TABLE public.small (id integer PRIMARY KEY, v text);
        INSERT INTO public.small SELECT g, 'small ' || g FROM generate_series(1, 1000) AS g;
        """;

    /// <summary>
    /// Rows out of key order on disk: new high keys in the holes that deleted rows left in early pages, rows grown by an
    /// update moved away from their neighbours, keys below the first added last.
    /// </summary>
    private static readonly string[] Wide = ["public.wide", "public.wide_uuid"];

    private const string DisorderSql = """
        INSERT INTO public.wide_uuid SELECT g, ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'new' FROM generate_series(200001, 201000) AS g;
        UPDATE public.wide_uuid SET pad = pad || ' grown' WHERE n % 1000 = 5;
        INSERT INTO public.wide_uuid VALUES (0, '00000000-0000-0000-0000-000000000000', 'the lowest'), (-1, 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'the highest');
        ANALYZE public.wide_uuid;
        INSERT INTO public.wide SELECT g, 'new ' || g, g FROM generate_series(200001, 201000) AS g;
        UPDATE public.wide SET n = -n, pad = pad || ' grown' WHERE id % 1000 = 3;
        INSERT INTO public.wide VALUES (-9223372036854775808, 'the lowest', 0), (-5, 'below the first', 0), (0, 'zero', 0);
        ANALYZE public.wide;
        """;

    private const string SecondChangesSql = """
        UPDATE public.wide SET pad = 'second' WHERE id % 500 = 11;
        DELETE FROM public.wide WHERE id % 777 = 0;
        INSERT INTO public.wide SELECT g, 'second new', g FROM generate_series(300001, 300500) AS g;
        ANALYZE public.wide;
        UPDATE public.wide_uuid SET pad = 'second' WHERE n % 500 = 11;
        DELETE FROM public.wide_uuid WHERE n % 777 = 0;
        ANALYZE public.wide_uuid;
        """;

    [Fact]
    public async Task A_large_table_lying_out_of_key_order_is_stored_as_order_by_gives_it_in_a_first_and_a_delta_backup()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(WideTableSql + "DELETE FROM public.wide WHERE id % 100 = 7; DELETE FROM public.wide_uuid WHERE n % 90 = 4;");
        var name = PgTestServer.DatabaseName(url);
        foreach (var table in Wide)
        {
            await PgTestServer.ExecuteAsync(name, $"VACUUM {table}"); // (not in a batch) leaves holes in every page
        }
        await PgTestServer.ExecuteAsync(name, DisorderSql);
        foreach (var table in Wide)
        {
            (await RowsOutOfKeyOrderOnDiskAsync(name, table, table.EndsWith("uuid", StringComparison.Ordinal) ? "id::text COLLATE \"C\"" : "id")).ShouldBeGreaterThan(1000, $"the test needs rows of {table} out of key order on disk");
        }

        var firstExpected = await ExpectedAsync(name);
        var scansBefore = await SettledSequentialScansAsync(name, 0);
        var first = await sandbox.BackupAsync(url);
        // For each table, the scan of its key and the scan of its rows, not the index scan ORDER BY would have run.
        (await SettledSequentialScansAsync(name, scansBefore + 4)).ShouldBe(scansBefore + 4);
        (await DumpAsync(sandbox, first, name)).ShouldBe(firstExpected);

        await PgTestServer.ExecuteAsync(name, SecondChangesSql);
        var secondExpected = await ExpectedAsync(name);
        scansBefore = await SettledSequentialScansAsync(name, 0);
        var second = await sandbox.BackupAsync(url);
        (await SettledSequentialScansAsync(name, scansBefore + 4)).ShouldBe(scansBefore + 4, "the second backup, stored as deltas, reads the same way");
        (await DumpAsync(sandbox, second, name)).ShouldBe(secondExpected);
        (await DumpAsync(sandbox, first, name)).ShouldBe(firstExpected);

        var target = await sandbox.NewDatabaseAsync();
        var restore = await sandbox.RunAsync("restore", second, "--database", name, "--to", target, "--json");
        restore.ShouldSucceed();
        using var json = restore.Json();
        json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue(restore.ToString());
        foreach (var table in Wide)
        {
            (await PgTestServer.TableChecksumAsync(PgTestServer.DatabaseName(target), table, "t.id"))
                .ShouldBe(await PgTestServer.TableChecksumAsync(name, table, "t.id"));
        }
    }

    /// <summary>About 60 MB of rows laid down in random key order, never analyzed: the backup gives the physical read a try.</summary>
    private const string ShuffledTableSql = """
        CREATE TABLE public.shuffled (id bigint PRIMARY KEY, pad text NOT NULL) WITH (autovacuum_enabled = off);
        INSERT INTO public.shuffled SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 170000) AS g ORDER BY random();
        """;

    [Fact]
    public async Task A_large_table_found_too_far_from_key_order_after_its_rows_began_is_read_with_order_by_in_the_same_snapshot()
    {
        // With no statistics the table gets a try: its rows start (read ahead) beside its key scan, which then finds
        // nearly every row late. The rows begun are stopped, and the reader, back in the backup's snapshot, reads the
        // table with ORDER BY.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShuffledTableSql);
        var name = PgTestServer.DatabaseName(url);
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM pg_stats WHERE tablename = 'shuffled'")).ShouldBe(0);
        var expected = await PgTestServer.PsqlAsync(name, "COPY (SELECT * FROM public.shuffled ORDER BY id) TO STDOUT");
        var scansBefore = await SettledScansAsync(name, "shuffled", 0);

        var snapshot = await sandbox.BackupAsync(url);

        // The key scan, the rows begun and stopped, and the read with ORDER BY.
        (await SettledScansAsync(name, "shuffled", scansBefore + 3)).ShouldBe(scansBefore + 3);
        var dump = await sandbox.RunAsync("dump", snapshot, name + "/public.shuffled", "--format", "raw");
        dump.ShouldSucceed();
        dump.Out.ShouldBe(expected);
    }

    [Fact]
    public async Task A_reader_that_gave_up_its_rows_reads_the_table_again_in_the_backups_snapshot()
    {
        // Rows deleted once the read has begun (snapshot exported, rows started, key scan under way) are still in the
        // backup, though the reader's first transaction was given up for the read with ORDER BY.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShuffledTableSql);
        var name = PgTestServer.DatabaseName(url);
        await using var repository = await sandbox.OpenRepositoryAsync();
        PostgresBackupResult result;
        await using (var read = await InProcessBackup.BeginAsync(url))
        {
            await PgTestServer.ExecuteAsync(name, "DELETE FROM public.shuffled WHERE id % 10 = 0");
            result = await read.RunAsync(repository);
        }
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM public.shuffled")).ShouldBe(153000);
        result.Rows.ShouldBe(170000);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_read_given_up_while_a_large_tables_rows_are_read_ahead_stops_them_and_ends_every_session(bool onceComing)
    {
        // As when the repository refuses its password while the database is being opened: the read ends with a table's
        // rows coming in on one connection (the server waiting, the read-ahead full) and its key scan on another; or
        // at once, while the readers may still be starting them.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShuffledTableSql);
        var name = PgTestServer.DatabaseName(url);
        var read = await InProcessBackup.BeginAsync(url);
        try
        {
            if (onceComing)
            {
                (await ServerActivity.CountAsync(
                    $"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' AND query LIKE 'COPY \"public\".\"shuffled\" (\"id\", \"pad\")%'", n => n > 0))
                    .ShouldBe(1, "the table's rows should be coming in");
            }
        }
        finally
        {
            await read.DisposeAsync();
        }
        (await ServerActivity.ArcaSessionsLeftAsync(name)).ShouldBe(0);
    }

    [Fact]
    public void Keys_in_order_leave_no_row_late()
    {
        Late([1, 2, 3, 5, 8, 13]).ShouldBeEmpty();
    }

    [Fact]
    public void A_row_parked_far_from_its_neighbours_is_the_one_late_not_the_rows_after_it()
    {
        // 1000 sits in an early page's free space; 5 was moved to the end by an update.
        Late([1, 2, 3, 1000, 4, 6, 7, 8, 9, 10, 5]).ShouldBe([1000, 5], ignoreOrder: true);
    }

    [Fact]
    public void A_high_key_at_the_end_of_a_window_is_judged_with_the_keys_after_it_in_view()
    {
        // The decisions are made a window of 2^18 keys at a time; this key is the last of the first window.
        var keys = Enumerable.Range(1, 600_000).Select(i => (long)i).ToList();
        keys.RemoveAt(6);
        keys.Add(7); // 7 lies at the very end, out of place
        keys.Insert((1 << 18) - 1, 10_000_000);
        Late(keys).ShouldBe([10_000_000, 7], ignoreOrder: true);
    }

    [Theory]
    [InlineData(true, "-9223372036854775808", "-1", "0", "1", "9223372036854775807")]
    [InlineData(false, "00000000-0000-0000-0000-000000000000", "0f000000-0000-0000-0000-000000000000", "a0000000-0000-0000-0000-000000000001", "ffffffff-ffff-ffff-ffff-fffffffffffe", "ffffffff-ffff-ffff-ffff-ffffffffffff")]
    public void Key_values_keep_postgresqls_order_and_come_back_as_written(bool numeric, params string[] ascending)
    {
        var values = ascending.Select(k => PhysicalScan.KeyValue(Encoding.ASCII.GetBytes(k), numeric)).ToList();
        values.ShouldBe(values.Order().ToList());
        values.Distinct().Count().ShouldBe(values.Count);
        values.Select(v => PhysicalScan.KeyText(v, numeric)).ShouldBe(ascending);
    }

    [Theory]
    [InlineData("12a", true)]
    [InlineData("", true)]
    [InlineData("99999999999999999999", true)]
    [InlineData("0000000-0000-0000-0000-000000000000", false)]
    [InlineData("ABCDEF00-0000-0000-0000-000000000000", false)]
    public void A_key_value_that_is_no_integer_or_uuid_is_refused(string text, bool numeric)
    {
        Should.Throw<InvalidDataException>(() => PhysicalScan.KeyValue(Encoding.ASCII.GetBytes(text), numeric));
    }

    [Fact]
    public void Past_the_most_late_keys_kept_the_table_is_said_to_lie_too_far_from_key_order()
    {
        var late = new LateKeys(maxLate: 2);
        foreach (var key in new long[] { 10, 9, 8, 7, 6 })
        {
            late.Add(PhysicalScan.KeyValue(Encoding.ASCII.GetBytes(key.ToString(CultureInfo.InvariantCulture)), numeric: true));
        }
        late.Complete();
        late.TooMany.ShouldBeTrue();
        late.Late.Count.ShouldBe(2);
    }

    private static List<long> Late(IEnumerable<long> keys)
    {
        var keyList = keys.ToList();
        var late = new LateKeys(int.MaxValue);
        foreach (var key in keyList)
        {
            late.Add(PhysicalScan.KeyValue(Encoding.ASCII.GetBytes(key.ToString(CultureInfo.InvariantCulture)), numeric: true));
        }
        late.Complete();
        late.TooMany.ShouldBeFalse();
        late.Late.Select(v => v.Position).ShouldBe(late.Late.Select(v => keyList.IndexOf(long.Parse(PhysicalScan.KeyText(v.Key, numeric: true), CultureInfo.InvariantCulture)))
            .Select(i => (long)i));
        return [.. late.Late.Select(v => long.Parse(PhysicalScan.KeyText(v.Key, numeric: true), CultureInfo.InvariantCulture))];
    }

    /// <summary>Each large table's rows as ORDER BY gives them.</summary>
    private static async Task<string> ExpectedAsync(string database)
    {
        var expected = new StringBuilder();
        foreach (var table in Wide)
        {
            expected.Append(await PgTestServer.PsqlAsync(database, $"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT")).Append('|');
        }
        return expected.ToString();
    }

    /// <summary>Each large table's rows as the snapshot holds them.</summary>
    private static async Task<string> DumpAsync(PgSandbox sandbox, string snapshot, string database)
    {
        var stored = new StringBuilder();
        foreach (var table in Wide)
        {
            var dump = await sandbox.RunAsync("dump", snapshot, database + "/" + table, "--format", "raw");
            dump.ShouldSucceed();
            stored.Append(dump.Out).Append('|');
        }
        return stored.ToString();
    }

    /// <summary>Rows whose key (<paramref name="key"/>: an expression that orders as the key does) is below some key before them, as a sequential scan gives them.</summary>
    private static async Task<long> RowsOutOfKeyOrderOnDiskAsync(string database, string table, string key) =>
        await PgTestServer.ScalarAsync<long>(database, $"""
            SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; SET synchronize_seqscans = off;
            SELECT count(*) FROM (SELECT {key} < max({key}) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS late FROM {table}) s WHERE late
            """);

    /// <summary>
    /// The scans of any kind of one table once they have reached <paramref name="atLeast"/> and stopped moving (see
    /// <see cref="SettledSequentialScansAsync"/>).
    /// </summary>
    private static async Task<long> SettledScansAsync(string database, string table, long atLeast)
    {
        var query = $"SELECT (coalesce(seq_scan, 0) + coalesce(idx_scan, 0))::bigint FROM pg_stat_user_tables WHERE relname = '{table}'";
        var seen = await PgTestServer.ScalarAsync<long>(database, query);
        for (var i = 0; i < 100; i++)
        {
            await Task.Delay(200);
            var now = await PgTestServer.ScalarAsync<long>(database, query);
            if (now == seen && now >= atLeast)
            {
                return now;
            }
            seen = now;
        }
        return seen;
    }

    /// <summary>Sequential scans of the large tables, in all.</summary>
    private static async Task<long> SequentialScansAsync(string database) =>
        await PgTestServer.ScalarAsync<long>(database, "SELECT sum(seq_scan)::bigint FROM pg_stat_user_tables WHERE relname IN ('wide', 'wide_uuid')");

    /// <summary>
    /// The table's count of sequential scans once it has reached <paramref name="atLeast"/> and stopped moving: the
    /// server adds a session's scans when the session ends, a moment after its client has closed it.
    /// </summary>
    private static async Task<long> SettledSequentialScansAsync(string database, long atLeast)
    {
        var seen = await SequentialScansAsync(database);
        for (var i = 0; i < 100; i++)
        {
            await Task.Delay(200);
            var now = await SequentialScansAsync(database);
            if (now == seen && now >= atLeast)
            {
                return now;
            }
            seen = now;
        }
        return seen;
    }
}
