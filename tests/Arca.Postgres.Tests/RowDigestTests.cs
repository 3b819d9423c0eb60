using System.Globalization;
using System.Text;
using Arca.Native;
using Arca.Sources.Postgres;
using Arca.TestKit;
using Arca.Trees;

namespace Arca.Postgres.Tests;

/// <summary>
/// A whole-database restore verifies each table by having the server digest it (<c>hashtextextended</c> of each row's
/// record text, summed) and comparing that with the digest of the rows it loaded, computed here from their COPY text
/// (<see cref="RecordHash"/>). The two must agree on every value a table can hold, and differ when a row does.
/// </summary>
public sealed class RowDigestTests
{
    /// <summary>Values that record_out must quote, or must not: ASCII white space and the quoting characters, and
    /// non-ASCII white space (which the server's isspace does not take for space in a UTF-8 database).</summary>
    private const string QuotingSql = """
        CREATE TABLE public.quoting (id integer PRIMARY KEY, a text, b text[], c jsonb, d public.labelled_point);
        INSERT INTO public.quoting VALUES
            (1, '', '{""}', '""', ROW(1, 2, '')),
            (2, ' ', '{" "}', '" "', ROW(1, 2, ' ')),
            (3, '"', '{"\""}', '"\""', ROW(1, 2, '"')),
            (4, E'\\', '{"\\\\"}', '"\\\\"', ROW(1, 2, E'\\')),
            (5, '(', '{(}', '"("', ROW(1, 2, '(')),
            (6, ')', '{)}', '")"', ROW(1, 2, ')')),
            (7, ',', '{","}', '","', ROW(1, 2, ',')),
            (8, E'\t', NULL, NULL, ROW(1, 2, E'\t')),
            (9, E'\n', NULL, NULL, ROW(1, 2, E'\n')),
            (10, E'\r', NULL, NULL, ROW(1, 2, E'\r')),
            (11, E'\x0b', NULL, NULL, ROW(1, 2, E'\x0b')),
            (12, E'\x0c', NULL, NULL, ROW(1, 2, E'\x0c')),
            (13, E'\u00a0', ('{' || E'\u00a0' || '}')::text[], to_jsonb(E'\u00a0'::text), ROW(1, 2, E'\u00a0')),
            (14, E'\u0085', ('{' || E'\u0085' || '}')::text[], to_jsonb(E'\u0085'::text), ROW(1, 2, E'\u0085')),
            (15, E'\u2028\u3000\u2003', NULL, NULL, ROW(1, 2, E'\u3000')),
            (16, 'plain', '{plain}', '1', ROW(1, 2, 'plain')),
            (17, E'\x01\x02\x7f', NULL, NULL, NULL),
            (18, E'N', '{NULL,"NULL"}', 'null', ROW(NULL, NULL, 'N')),
            (19, E'\\N', '{"\\\\N"}', '"\\\\N"', ROW(NULL, NULL, E'\\N')),
            (20, NULL, NULL, NULL, NULL);
        """;

    [Fact]
    public async Task PostgreSQL_hashes_text_as_RecordHash_does_for_every_length_of_tail()
    {
        // Every length from 0 to 40 bytes covers each of the hash's tail cases (0 to 11 bytes left over) several times,
        // after zero to three full blocks; then text of two, three and four bytes per character.
        var url = await PgTestServer.NewDatabaseAsync();
        var database = PgTestServer.DatabaseName(url);
        try
        {
            var rows = await PgTestServer.RowsAsync(database, """
                SELECT s, hashtextextended(s, 0) FROM (
                    SELECT left('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ', n) AS s FROM generate_series(0, 40) AS n
                    UNION ALL SELECT repeat('é', n) || repeat('漢', n) || repeat('🎉', n) FROM generate_series(1, 9) AS n) AS x
                """);
            rows.Count.ShouldBe(50);
            foreach (var row in rows)
            {
                var expected = long.Parse(row[1]!, CultureInfo.InvariantCulture);
                ((long)RecordHash.HashBytesExtended(Encoding.UTF8.GetBytes(row[0]!))).ShouldBe(expected, $"text '{row[0]}'");
            }
        }
        finally
        {
            await PgTestServer.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task Every_row_of_every_common_type_hashes_the_same_on_the_server_and_here()
    {
        var url = await PgTestServer.NewDatabaseAsync();
        var database = PgTestServer.DatabaseName(url);
        try
        {
            await PgTestServer.ExecuteAsync(database, WholeDatabaseRoundTripTests.EveryTypeSql);
            await PgTestServer.ExecuteAsync(database, QuotingSql);
            using var connection = NativeConnections.Open(PostgresLocation.Parse(url));
            foreach (var table in new[] { await TableAsync(database, "every_type"), await TableAsync(database, "quoting") })
            {
                var row = string.Join(", ", table.Columns.Select(c => "t." + TableName.Ident(c.Name)));
                // Row by row first, so a value hashed differently is named.
                var copyRows = await CopyRowsAsync(connection, $"COPY (SELECT {row} FROM public.{table.Name} AS t ORDER BY t.id) TO STDOUT");
                connection.Execute("CREATE TEMP TABLE hashes AS SELECT row_number() OVER (ORDER BY t.id) AS n, hashtextextended(ROW(" + row + ")::text, 0) AS h "
                    + $"FROM public.{table.Name} AS t");
                // Both ways of hashing here: in a buffer (rows up to 1 MiB of record text), and streamed (longer rows).
                var buffered = new RecordHash(table.Columns.Count);
                var streamed = new RecordHash(table.Columns.Count, maxBuffered: 0);
                for (var i = 0; i < copyRows.Count; i++)
                {
                    var server = long.Parse(connection.Execute($"SELECT h FROM hashes WHERE n = {i + 1}")!, CultureInfo.InvariantCulture);
                    var which = $"{table.Name}, row {i + 1}: {Encoding.UTF8.GetString(copyRows[i])}";
                    buffered.Of(copyRows[i]).ShouldBe(server, which);
                    streamed.Of(copyRows[i]).ShouldBe(server, which);
                }
                connection.Execute("DROP TABLE hashes");

                // Then the table's digest, both ways, against the digest of its COPY text.
                var loaded = new RowMultiset.Builder(table.Columns.Count);
                foreach (var copyRow in copyRows)
                {
                    loaded.AddRow(copyRow);
                }
                (await DigestOnServerAsync(url, table)).ShouldBe(loaded.Result);
                (await RowMultiset.OfTableReadBackAsync(connection, table, CancellationToken.None)).ShouldBe(loaded.Result);
            }
        }
        finally
        {
            await PgTestServer.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task A_changed_missing_or_extra_row_changes_the_digest_both_ways()
    {
        var url = await PgTestServer.NewDatabaseAsync();
        var database = PgTestServer.DatabaseName(url);
        try
        {
            await PgTestServer.ExecuteAsync(database, """
                CREATE TABLE public.accounts (id integer, owner text, balance numeric);
                INSERT INTO public.accounts SELECT g, 'owner ' || g, g * 1.5 FROM generate_series(1, 5000) AS g;
                """);
            using var connection = NativeConnections.Open(PostgresLocation.Parse(url));
            var table = await TableAsync(database, "accounts");
            var original = await DigestOnServerAsync(url, table);
            original.Rows.ShouldBe(5000);
            (await RowMultiset.OfTableReadBackAsync(connection, table, CancellationToken.None)).ShouldBe(original);

            var changes = new[]
            {
                "UPDATE public.{0} SET owner = 'owner 4243' WHERE id = 4242", // one character of one value
                "UPDATE public.{0} SET balance = NULL WHERE id = 7",
                "DELETE FROM public.{0} WHERE id = 99",
                "INSERT INTO public.{0} VALUES (1, 'owner 1', 1.5)", // a duplicate: the same set of rows, another multiset
            };
            for (var i = 0; i < changes.Length; i++)
            {
                // Each change on a copy of its own, committed, so both ways of digesting see it.
                var copy = $"accounts_{i}";
                await PgTestServer.ExecuteAsync(database, $"CREATE TABLE public.{copy} AS SELECT * FROM public.accounts; " + string.Format(CultureInfo.InvariantCulture, changes[i], copy));
                var changed = table with { Name = copy };
                var onServer = await DigestOnServerAsync(url, changed);
                onServer.ShouldNotBe(original, changes[i]);
                (await RowMultiset.OfTableReadBackAsync(connection, changed, CancellationToken.None)).ShouldBe(onServer, changes[i]);
            }
            (await DigestOnServerAsync(url, table)).ShouldBe(original);
        }
        finally
        {
            await PgTestServer.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task A_table_of_no_columns_digests_the_same_both_ways()
    {
        var url = await PgTestServer.NewDatabaseAsync();
        var database = PgTestServer.DatabaseName(url);
        try
        {
            await PgTestServer.ExecuteAsync(database, "CREATE TABLE public.nothing (); INSERT INTO public.nothing SELECT FROM generate_series(1, 4);");
            var table = await TableAsync(database, "nothing");
            table.Columns.ShouldBeEmpty();
            var loaded = new RowMultiset.Builder(0);
            loaded.AddRows("\n\n\n\n"u8); // COPY text of four rows of no columns
            using var connection = NativeConnections.Open(PostgresLocation.Parse(url));
            (await DigestOnServerAsync(url, table)).ShouldBe(loaded.Result);
            (await RowMultiset.OfTableReadBackAsync(connection, table, CancellationToken.None)).ShouldBe(loaded.Result);
            loaded.Result.Rows.ShouldBe(4);
        }
        finally
        {
            await PgTestServer.DropDatabaseAsync(database);
        }
    }

    /// <summary>The server's digest of a table; fails the test if this server does not pass the probe that lets it digest.</summary>
    private static async Task<RowMultiset> DigestOnServerAsync(string url, TableInfo table)
    {
        await using var connection = await PostgresErrors.OpenAsync(PostgresLocation.Parse(url), CancellationToken.None);
        (await RowMultiset.ServerDigestsAsync(connection, CancellationToken.None)).ShouldBeTrue("this server should digest tables as arca does");
        return await RowMultiset.OfTableOnServerAsync(connection, table, CancellationToken.None);
    }

    /// <summary>A table's record as a backup writes it: its columns as the catalog lists them, in order.</summary>
    private static async Task<TableInfo> TableAsync(string database, string name)
    {
        var columns = await PgTestServer.RowsAsync(database, $"""
            SELECT attname FROM pg_attribute WHERE attrelid = 'public.{name}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """);
        return new TableInfo
        {
            Engine = "postgresql",
            Schema = "public",
            Name = name,
            Columns = [.. columns.Select(c => new TableColumn(c[0]!, "unknown"))],
            Key = [],
            Format = "pg-copy-text",
            Checksum = "",
        };
    }

    private static async Task<List<byte[]>> CopyRowsAsync(PgNativeConnection connection, string copy)
    {
        connection.StartCopyOut(copy);
        await using var stream = new NativeCopyStream(connection);
        using var lines = new LineReader(stream);
        var rows = new List<byte[]>();
        while (await lines.NextAsync(CancellationToken.None) is { } line)
        {
            rows.Add(line.ToArray());
        }
        return rows;
    }
}
