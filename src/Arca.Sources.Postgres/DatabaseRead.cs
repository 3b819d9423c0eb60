using Arca.Native;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>
/// A database opened for a backup, before anything is written to the repository: one REPEATABLE READ, READ ONLY
/// transaction whose snapshot is exported, the tables chosen and checked, pg_dump writing the schema from that
/// snapshot, the reader connections joined to it, and the largest tables' rows and key scans (<see cref="PhysicalScan"/>)
/// under way. None of it needs the repository, so a backup begins it while the repository opens (the password's
/// key derivation alone takes about 0.3 s on one core). Disposing it ends the transaction and stops what still runs.
/// </summary>
public sealed class DatabaseRead : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly List<Reader> _readers = [];
    private bool _readersTaken;
    // The readers' connections, opened while the main one opens; those from _handedOver on are not yet handed to a
    // reader, nor closed.
    private readonly List<Task<PgNativeConnection>> _connecting = [];
    private int _handedOver;
    private string _snapshotId = "";
    private Task _planning = Task.CompletedTask;

    private DatabaseRead(PostgresLocation location, PostgresBackupOptions options, CancellationToken cancellationToken)
    {
        Location = location;
        Options = options;
        Selection = BackupSelection.Parse(options);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    public PostgresLocation Location { get; }
    internal PostgresBackupOptions Options { get; }
    internal BackupSelection Selection { get; }
    internal NpgsqlConnection Main { get; private set; } = null!;
    internal long StartNs { get; private set; }
    internal string ServerVersion { get; private set; } = "";
    internal string DumpVersion { get; private set; } = "";
    internal List<PgTable> Tables { get; private set; } = [];
    internal List<string> Warnings { get; } = [];
    internal List<Trees.SequenceValue> Sequences { get; private set; } = [];
    internal List<string> MaterializedViews { get; private set; } = [];
    internal Task<byte[]> PreData { get; private set; } = null!;
    internal Task<byte[]> PostData { get; private set; } = null!;

    /// <summary>
    /// A reader connection in the snapshot (ready once opened and, if it began with one, its table's rows started), and
    /// the table it began with.
    /// </summary>
    internal sealed record Reader(Task<PgNativeConnection> Connection, ScannedTable? Scanned);

    /// <summary>
    /// A large table read as its rows lie (<see cref="PhysicalScan"/>), begun as the read began: its rows, started on its
    /// reader's connection and read ahead into memory, and beside them, on the planner's connection, its key scan and late
    /// rows. The rows do not wait for the key scan: on the bench fixture's items the key scan and the late rows took
    /// 0.6-0.7 s, all of it before the rows' scan began, which itself took 2.5 s. <see cref="Rows"/> is null, and the
    /// table read with ORDER BY, when its rows lie too far from key order.
    /// </summary>
    internal sealed class ScannedTable(PgTable table)
    {
        public PgTable Table => table;
        public Task<PhysicalScan.Plan?> Plan => PlanSource.Task;
        public Task<Stream?> Rows => RowsSource.Task;
        internal TaskCompletionSource<PhysicalScan.Plan?> PlanSource { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        internal TaskCompletionSource<Stream?> RowsSource { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>
        /// Stops the rows if they began and nobody has read them to their end (a second stop does nothing). Their
        /// connection may close only after this: the read-ahead calls libpq on it from a task of its own.
        /// </summary>
        public async Task StopRowsAsync()
        {
            if (Rows is { IsCompletedSuccessfully: true, Result: { } rows })
            {
                await rows.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// How much of a large table's rows is read ahead while its key scan runs, in 1 MiB chunks. On the bench fixture,
    /// 16 MiB did as well as 32 or 64 (4 interleaved runs each: median 2.70, 2.72, 2.70 s; before, 2.95 s): the rows'
    /// scan waits a little, while the key scan and the other table use the cores. Each chunk is peak memory.
    /// </summary>
    private const int ReadAheadChunks = 16;

    /// <summary>The reader connections, handed over once: from then on their user disposes them.</summary>
    internal IReadOnlyList<Reader> TakeReaders()
    {
        lock (_readers)
        {
            _readersTaken = true;
            Reader[] readers = [.. _readers];
            _readers.Clear(); // the late rows held for each scanned table go with its reader, once read
            return readers;
        }
    }

    /// <summary>Opens the database for a backup (see the class). Errors come translated, as the backup's own.</summary>
    public static async Task<DatabaseRead> BeginAsync(PostgresLocation location, PostgresBackupOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var read = new DatabaseRead(location, options, cancellationToken);
        try
        {
            await read.BeginCoreAsync(time, read._stop.Token);
            return read;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.Translate(ex, location) is { } error)
        {
            await read.DisposeAsync();
            throw error;
        }
        catch
        {
            await read.DisposeAsync();
            throw;
        }
    }

    private async Task BeginCoreAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        StartNs = time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000;
        // Each connection costs a server process's start and an authentication; the readers' need nothing from the
        // main one until they join its snapshot, so they open at the same time. (Measured on the bench fixture: the
        // first key scan began 0.13 s sooner.) When one fails, the main one fails the same way, and says so.
        for (var i = 0; i < Options.Jobs + 1; i++) // and one for the key scans
        {
            _connecting.Add(Task.Run(() => NativeConnections.Open(Location), CancellationToken.None));
        }
        Main = await PostgresErrors.OpenAsync(Location, cancellationToken);
        await PostgresErrors.ExecuteAsync(Main, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", cancellationToken);
        int serverMajor;
        await using (var cmd = new NpgsqlCommand("SELECT pg_export_snapshot(), current_setting('server_version'), current_setting('server_version_num')::int / 10000", Main))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            _snapshotId = reader.GetString(0);
            ServerVersion = reader.GetString(1);
            serverMajor = reader.GetInt32(2);
        }

        var all = await PostgresCatalog.TablesAsync(Main, cancellationToken);
        Tables = await PostgresCatalog.WithSizesAsync(Main, Selection.Select(all, Location), cancellationToken);
        foreach (var table in Tables.Where(t => t.Key.Count == 0))
        {
            Warnings.Add($"{table.Name} has no primary key: its rows are kept in a stable order, but a restore can only replace the table, not match rows by key.");
        }
        // Every table is locked as reading locks it (ACCESS SHARE), in the snapshot's own transaction and before any is
        // read, as pg_dump does: TRUNCATE and the forms of ALTER TABLE that rewrite a table are not MVCC-safe (after one
        // commits, a snapshot taken before it sees the table empty), so they wait for the backup's end. The backup's
        // other connections take the same locks as they join, without waiting (JoinSnapshot).
        // One that committed after the snapshot and before this lock (the catalog's reads and the lock itself may wait
        // for one) left the table in a new data file: seen so, the backup stops rather than store the table empty.
        if (Tables.Count > 0)
        {
            await PostgresErrors.ExecuteAsync(Main, LockStatement(Tables, wait: true), cancellationToken);
            var rewritten = await ChangedSinceSnapshotAsync(cancellationToken);
            if (Tables.FirstOrDefault(t => rewritten.Contains(t.Oid)) is { } changed)
            {
                throw new ArcaException(ErrorCode.DatabaseBusy,
                    $"{changed.Name} was emptied, rewritten or replaced by another session (TRUNCATE, ALTER TABLE, VACUUM FULL) after the backup's snapshot was taken.",
                    "Run the backup again: it waits for such a change to end before it begins.");
            }
            await PostgresErrors.ExecuteAsync(Main, PostgresErrors.BackupLockTimeout, cancellationToken);
        }

        // The readers join the snapshot and the largest tables' rows start, while, on one more connection, their key
        // scans run and the rest is checked.
        var largestFirst = Tables.OrderByDescending(t => t.EstimatedBytes).ToList();
        var scanned = largestFirst.Where(t => PostgresBackup.PhysicalKeyColumn(t, Selection) >= 0).Take(Options.Jobs)
            .Select(t => new ScannedTable(t)).ToList();
        var joins = new List<Task>();
        for (var i = 0; i < Math.Min(Options.Jobs, Math.Max(1, Tables.Count)); i++)
        {
            var table = i < scanned.Count ? scanned[i] : null;
            var connecting = _connecting[_handedOver++];
            var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            joins.Add(joined.Task);
            _readers.Add(new Reader(Task.Run(async () =>
            {
                PgNativeConnection? connection = null;
                try
                {
                    connection = await connecting;
                    JoinSnapshot(connection, Tables); // all: any may be this reader's next
                    joined.SetResult();
                    if (table is not null)
                    {
                        var columns = PostgresBackup.ColumnsOf(table.Table, Selection);
                        var key = columns[PostgresBackup.PhysicalKeyColumn(table.Table, Selection)];
                        var near = PhysicalScan.LiesNearKeyOrder(connection, table.Table, key);
                        if (near)
                        {
                            connection.Execute($"SAVEPOINT {RowsBegun}");
                        }
                        table.RowsSource.SetResult(near ? PhysicalScan.StartRows(connection, table.Table, columns, ReadAheadChunks) : null);
                    }
                    return connection;
                }
                catch (Exception ex)
                {
                    joined.TrySetException(ex);
                    if (table is not null)
                    {
                        table.RowsSource.TrySetException(ex);
                    }
                    connection?.Dispose();
                    throw;
                }
            }, CancellationToken.None), table));
        }
        if (scanned.Count > 0)
        {
            var planning = _connecting[_handedOver++];
            var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            joins.Add(joined.Task);
            _planning = Task.Run(async () =>
            {
                PgNativeConnection? connection = null;
                try
                {
                    connection = await planning;
                    JoinSnapshot(connection, [.. scanned.Select(t => t.Table)]);
                    joined.SetResult();
                    foreach (var table in scanned)
                    {
                        var columns = PostgresBackup.ColumnsOf(table.Table, Selection);
                        table.PlanSource.SetResult(await PhysicalScan.PlanAsync(connection, table.Table, columns,
                            PostgresBackup.PhysicalKeyColumn(table.Table, Selection), cancellationToken));
                    }
                }
                catch (Exception ex)
                {
                    joined.TrySetException(ex);
                    foreach (var table in scanned)
                    {
                        table.PlanSource.TrySetException(ex);
                    }
                }
                finally
                {
                    connection?.Dispose();
                }
            }, CancellationToken.None);
        }
        // Those no reader needs (more --jobs than tables) close now, not when the read ends: each holds a server process.
        while (_handedOver < _connecting.Count)
        {
            _ = CloseAsync(_connecting[_handedOver++]);
        }

        foreach (var table in Tables)
        {
            if (Selection.Filters.TryGetValue(table.Name, out var filter))
            {
                await PostgresBackup.CheckFilterAsync(Main, table, filter, cancellationToken);
            }
        }
        Sequences = await PostgresCatalog.SequencesAsync(Main, Selection.All ? null : name => Tables.Any(t => t.Name == name), cancellationToken);
        MaterializedViews = Selection.All ? await PostgresCatalog.PopulatedMaterializedViewsAsync(Main, cancellationToken) : [];
        // Joined, every connection of the backup holds its locks: a schema change asked for from now on waits for the
        // backup's end, and nothing of the backup waits behind it.
        await Task.WhenAll(joins);
        var pgDump = PgTools.Find("pg_dump");
        var (dumpMajor, dumpVersion) = await PgTools.VersionAsync(pgDump, cancellationToken);
        if (dumpMajor < serverMajor)
        {
            throw new ArcaException(ErrorCode.ToolMissing, $"{dumpVersion} cannot read the schema of a PostgreSQL {serverMajor} server.",
                $"Install PostgreSQL {serverMajor}'s client programs, or point ARCA_PG_BINDIR at them.");
        }
        DumpVersion = dumpVersion;
        PreData = PostgresBackup.DumpSchemaAsync(pgDump, Location, _snapshotId, "pre-data", Selection.All ? null : Tables, cancellationToken);
        PostData = PostgresBackup.DumpSchemaAsync(pgDump, Location, _snapshotId, "post-data", Selection.All ? null : Tables, cancellationToken);
    }

    /// <summary>
    /// The tables whose data file is no longer the one the snapshot knows, or whose name now names another table (one
    /// swapped in by renames): pg_class read by a query shows the snapshot's row, while pg_relation_filenode and
    /// to_regclass read the server's catalog cache, which is current. Taking no lock on the tables.
    /// </summary>
    private async Task<HashSet<uint>> ChangedSinceSnapshotAsync(CancellationToken cancellationToken)
    {
        var rewritten = new HashSet<uint>();
        await using var cmd = new NpgsqlCommand(
            "SELECT c.oid FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = ANY($1) AND " +
            "(c.relfilenode IS DISTINCT FROM pg_catalog.pg_relation_filenode(c.oid) OR " +
            "pg_catalog.to_regclass(pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)) IS DISTINCT FROM c.oid)", Main);
        cmd.Parameters.Add(PostgresCatalog.Oids(Tables));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rewritten.Add(reader.GetFieldValue<uint>(0));
        }
        return rewritten;
    }

    /// <summary>Locks tables as reading them locks them, and no more (their inheritance children are not read).</summary>
    private static string LockStatement(IEnumerable<PgTable> tables, bool wait) =>
        $"LOCK TABLE {string.Join(", ", tables.Select(t => "ONLY " + t.Name.Sql))} IN ACCESS SHARE MODE{(wait ? "" : " NOWAIT")}";

    /// <summary>The savepoint a reader sets before a scanned table's rows start: stopping them fails what came after it only.</summary>
    private const string RowsBegun = "arca_rows_begun";

    /// <summary>
    /// A scanned table's plan and rows (as they lie), or neither when it is to be read with ORDER BY: then rows already
    /// begun are stopped, and <paramref name="connection"/> (their reader's) is ready again, in the same transaction.
    /// </summary>
    internal async Task<(PhysicalScan.Plan? Plan, Stream? Rows)> ScannedRowsAsync(ScannedTable scanned, PgNativeConnection connection)
    {
        if (await scanned.Rows is not { } rows)
        {
            return (null, null); // too far from key order to try: no need to wait for the planner
        }
        PhysicalScan.Plan? plan;
        try
        {
            plan = await scanned.Plan;
        }
        catch
        {
            await scanned.StopRowsAsync();
            throw;
        }
        if (plan is not null)
        {
            return (plan, rows);
        }
        // The stop is a cancel, which fails what came after the savepoint; the transaction (its snapshot, its locks) stays.
        await scanned.StopRowsAsync();
        connection.Execute($"ROLLBACK TO SAVEPOINT {RowsBegun}");
        return (null, null);
    }

    /// <summary>
    /// Puts a reader's libpq connection (see <see cref="PgNativeConnection"/>) in the exported snapshot, holding the
    /// tables' locks as the main connection does. Without waiting for them: a schema change asked for since the main
    /// connection took its locks waits behind those, and a lock asked for behind the change would wait for it, for ever,
    /// while it waits for the backup (a wait PostgreSQL cannot see as a deadlock: the main connection waits in Arca).
    /// </summary>
    private void JoinSnapshot(PgNativeConnection connection, IReadOnlyList<PgTable> tables)
    {
        connection.Execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        connection.Execute($"SET TRANSACTION SNAPSHOT {TableName.Literal(_snapshotId)}");
        // No parallel plans: the backup's readers are its parallelism, and a query's workers would compete with them.
        connection.Execute("SET max_parallel_workers_per_gather = 0");
        if (tables.Count > 0)
        {
            connection.Execute(LockStatement(tables, wait: false));
        }
        connection.Execute(PostgresErrors.BackupLockTimeout);
    }

    /// <summary>Closes a reader's connection once it is open; one that failed or was stopped is passed over.</summary>
    private static async Task CloseAsync(Task<PgNativeConnection> connection)
    {
        try
        {
            (await connection).Dispose();
        }
        catch (Exception)
        {
            // The error that matters went up from where the read was used (or from the main connection's open,
            // which fails as a reader's does).
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Reader[] untaken;
        lock (_readers)
        {
            untaken = _readersTaken ? [] : [.. _readers];
            _readersTaken = true;
        }
        await _planning;
        foreach (var reader in untaken)
        {
            // Once the reader's set-up has ended (its rows begun, or not), they stop before their connection closes.
            await ((Task)reader.Connection).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (reader.Scanned is { } scanned)
            {
                await scanned.StopRowsAsync();
            }
            await CloseAsync(reader.Connection);
        }
        foreach (var connection in _connecting.Skip(_handedOver))
        {
            await CloseAsync(connection);
        }
        foreach (var dump in new[] { PreData, PostData }.Where(t => t is not null))
        {
            await ((Task)dump).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        if (Main is not null)
        {
            await Main.DisposeAsync();
        }
        _stop.Dispose();
    }
}
