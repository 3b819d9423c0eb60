using Arca.Cli;
using Arca.Repo;
using Arca.Sources.Postgres;
using Arca.Storage.Local;
using Arca.TestKit;
using Npgsql;

namespace Arca.Postgres.Tests;

/// <summary>
/// TRUNCATE and the forms of ALTER TABLE that rewrite a table are not MVCC-safe: once one commits, a snapshot taken
/// before it sees the table empty. A backup holds its tables locked from its start, as pg_dump does, so such a change
/// waits for the backup; one that commits while the backup is beginning stops it (exit 41) rather than leave the
/// table empty in a snapshot.
/// </summary>
public sealed class SchemaChangeDuringBackupTests
{
    private const string Sql = """
        CREATE TABLE public.orders (id bigint PRIMARY KEY, note text);
        INSERT INTO public.orders SELECT g, 'order ' || g FROM generate_series(1, 5000) AS g;
        CREATE TABLE public.small (id integer PRIMARY KEY);
        INSERT INTO public.small SELECT g FROM generate_series(1, 10) AS g;
        """;

    [Fact]
    public async Task A_table_truncated_once_the_backup_has_begun_is_backed_up_whole_and_the_truncate_waits_for_the_backup()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(Sql);
        var name = PgTestServer.DatabaseName(url);
        await using var repository = await sandbox.OpenRepositoryAsync();
        Task truncate;
        await using (var read = await InProcessBackup.BeginAsync(url))
        {
            await Task.WhenAll(read.PreData, read.PostData); // pg_dump has come and gone: only the backup's own locks are held
            truncate = PgTestServer.ExecuteAsync(name, "TRUNCATE public.orders");
            (await ServerActivity.WaitingForALockAsync(name, "TRUNCATE%")).ShouldBe(1, "the truncate should wait for the backup");

            var result = await read.RunAsync(repository);

            result.Rows.ShouldBe(5010);
        }
        await truncate.WaitAsync(TimeSpan.FromSeconds(30));
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM public.orders")).ShouldBe(0);
    }

    [Fact]
    public async Task A_table_truncated_while_the_backup_waits_for_its_lock_stops_the_backup_with_exit_41_and_no_snapshot()
    {
        // A session reads the table, the truncate waits for it, the backup (its snapshot taken) waits behind the
        // truncate; the reading session ends, and the truncate commits before the backup has its lock.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(Sql);
        var name = PgTestServer.DatabaseName(url);
        await using var reader = await BeginHoldingAsync(name, "LOCK TABLE public.orders IN ACCESS SHARE MODE");
        var truncate = PgTestServer.ExecuteAsync(name, "TRUNCATE public.orders");
        (await ServerActivity.WaitingForALockAsync(name, "TRUNCATE%")).ShouldBe(1);
        var backup = sandbox.RunAsync("backup", url);
        (await ServerActivity.WaitingForALockAsync(name, "SELECT o, coalesce(pg_catalog.pg_table_size%", "LOCK TABLE ONLY%")).ShouldBe(1, "the backup should wait behind the truncate");
        await CommitAsync(reader);
        await truncate.WaitAsync(TimeSpan.FromSeconds(30));

        var result = await backup;

        result.ShouldFailWith(ExitCodes.DatabaseBusy);
        result.Error.ShouldContain("public.orders was emptied, rewritten or replaced by another session");
        (await sandbox.SnapshotCountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task A_reindex_queued_behind_the_backup_stops_it_with_exit_41_in_seconds_instead_of_holding_both_up_for_ever()
    {
        // The row filter's check plans on the main connection, which keeps the table's key index locked; a REINDEX then
        // waits for that index, and the reader's COPY, which reads by the index, waits behind the REINDEX. Nothing in
        // PostgreSQL sees a deadlock there (the main connection waits for the reader in Arca): the lock timeout ends it.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(Sql);
        var name = PgTestServer.DatabaseName(url);
        await using var repository = await sandbox.OpenRepositoryAsync();
        Task reindex;
        var options = new PostgresBackupOptions { Filters = ["public.orders: id > 100"] };
        await using (var read = await InProcessBackup.BeginAsync(url, options))
        {
            await Task.WhenAll(read.PreData, read.PostData);
            reindex = PgTestServer.ExecuteAsync(name, "REINDEX TABLE public.orders");
            (await ServerActivity.WaitingForALockAsync(name, "REINDEX%")).ShouldBe(1, "the reindex should wait for the backup");

            var error = await Should.ThrowAsync<ArcaException>(
                read.RunAsync(repository).WaitAsync(TimeSpan.FromSeconds(60)));

            error.Code.ShouldBe(ErrorCode.DatabaseBusy, error.ToString());
            error.Message.ShouldContain("lock timeout");
        }
        await reindex.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_reindex_running_through_a_backup_of_a_large_table_read_as_it_lies_does_not_hold_it_up()
    {
        // A REINDEX holds its index locked (and the table's writes off) until it commits. A large table in key order is
        // read by COPY of the table itself, which plans nothing and so locks no index: the backup goes by.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.wide (id bigint PRIMARY KEY, pad text NOT NULL);
            INSERT INTO public.wide SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 170000) AS g;
            ANALYZE public.wide;
            """);
        var name = PgTestServer.DatabaseName(url);
        await using var reindexing = await BeginHoldingAsync(name, "REINDEX INDEX public.wide_pkey");

        var result = await sandbox.RunAsync("backup", url, "--json");

        result.ShouldSucceed();
        (await sandbox.ListTablesAsync(name))["public.wide"].ShouldBe(170000);
        await CommitAsync(reindexing);
    }

    /// <summary>A session of its own on <paramref name="database"/>, in a transaction that has run <paramref name="sql"/> and holds its locks.</summary>
    private static async Task<NpgsqlConnection> BeginHoldingAsync(string database, string sql)
    {
        var session = new NpgsqlConnection(PgTestServer.ConnectionString(database));
        await session.OpenAsync();
        await using var begin = new NpgsqlCommand("BEGIN; " + sql, session);
        await begin.ExecuteNonQueryAsync();
        return session;
    }

    private static async Task CommitAsync(NpgsqlConnection session)
    {
        await using var commit = new NpgsqlCommand("COMMIT", session);
        await commit.ExecuteNonQueryAsync();
    }
}
