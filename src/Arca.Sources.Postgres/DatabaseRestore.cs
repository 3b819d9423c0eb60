using System.Collections.Concurrent;
using System.Text;
using Arca.Repo;
using Arca.Restore;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>A table of a whole-database restore: what the snapshot holds and what the restored table holds.</summary>
public sealed record RestoredTable(string Table, long Rows, long RowsAfter, bool ChecksumMatches);

/// <summary>What a whole-database restore did; <paramref name="ReadBack"/> says whether every table was read back to verify it.</summary>
public sealed record DatabaseRestoreResult(IReadOnlyList<RestoredTable> Tables, int Sequences, bool ReadBack)
{
    public bool Verified => Tables.All(t => t.ChecksumMatches && t.Rows == t.RowsAfter);
}

/// <summary>How a whole-database restore runs.</summary>
public sealed record DatabaseRestoreOptions
{
    /// <summary>Connections that load, index and verify tables at once.</summary>
    public int Jobs { get; init; } = 2;

    /// <summary>Have every restored table digested, once its indexes are built, and compare its rows with the ones loaded.</summary>
    public bool ReadBack { get; init; } = true;

    /// <summary>
    /// Let a connection with no table left join the load of a large table (see <see cref="TableLoad"/>): two server
    /// processes parse its rows, but they lie in another physical order than the original's, so pg_dump of the copy lists
    /// them in another order. Off by default, as pg_restore keeps each table's order.
    /// </summary>
    public bool SplitTables { get; init; }
}

/// <summary>The parts of a database entry in a snapshot, as a whole-database restore needs them.</summary>
public sealed record DatabaseEntry(Node Entry, Node PreData, Node PostData, IReadOnlyList<Node> Tables)
{
    public DatabaseInfo Info => Entry.Database!;
}

/// <summary>
/// Restores a whole database into an empty one, as pg_restore does: the schema without indexes and
/// constraints (psql runs pg_dump's pre-data section), then every table's rows over parallel COPY
/// connections (checked against the snapshot's checksums on the way), each table's indexes and key constraints
/// as soon as its rows are in, then the rest of the post-data section (foreign keys, triggers), then each
/// sequence set to exactly its value in the snapshot. Unless told not to, each table is also read back, once its
/// indexes are built, and its rows compared with the ones loaded.
/// </summary>
public sealed class DatabaseRestore(IBlobLoader loader)
{
    /// <summary>
    /// Checks that the target can be reached and holds nothing of its own (errors translated): the first step of a
    /// restore, which needs nothing from the repository, so a caller may begin it early and hand it to <see cref="RunAsync"/>.
    /// </summary>
    public static async Task CheckTargetAsync(PostgresLocation target, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await PostgresErrors.OpenAsync(target, cancellationToken);
            var existing = await PostgresCatalog.UserObjectsAsync(connection, 4, cancellationToken);
            if (existing.Count > 0)
            {
                throw new ArcaException(ErrorCode.DatabaseNotEmpty,
                    $"The database {target.Display} is not empty: it holds {string.Join(", ", existing.Take(3))}{(existing.Count > 3 ? ", ..." : "")}.",
                    "Restore a whole database into an empty one (createdb NAME), or restore single tables with --table.");
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.Translate(ex, target) is { } error)
        {
            throw error;
        }
    }

    /// <param name="targetChecked"><see cref="CheckTargetAsync"/> begun by the caller, or null to run it here.</param>
    public async Task<DatabaseRestoreResult> RunAsync(PostgresLocation target, DatabaseEntry database, DatabaseRestoreOptions options, Task? targetChecked,
        CancellationToken cancellationToken)
    {
        await (targetChecked ?? CheckTargetAsync(target, cancellationToken));
        try
        {
            return await OpenAndRunAsync(target, database, options with { Jobs = Math.Max(1, options.Jobs) }, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.Translate(ex, target) is { } error)
        {
            throw error;
        }
    }

    private async Task<DatabaseRestoreResult> OpenAndRunAsync(PostgresLocation target, DatabaseEntry database, DatabaseRestoreOptions options,
        CancellationToken cancellationToken)
    {
        // The loads' connections open while psql applies the pre-data section: each costs a server process's start.
        var opening = new ConcurrentQueue<Task<NpgsqlConnection>>(Enumerable.Range(0, LoadConnections(database.Tables, options))
            .Select(_ => Task.Run(() => PostgresErrors.OpenAsync(target, cancellationToken), CancellationToken.None)));
        try
        {
            return await RunCoreAsync(target, database, options, opening, cancellationToken);
        }
        finally
        {
            // Those no load took (the pre-data section failed, say) close here; one that did not open adds nothing to
            // the error on its way up.
            while (opening.TryDequeue(out var left))
            {
                try
                {
                    await (await left).DisposeAsync();
                }
                catch (Exception)
                {
                }
            }
        }
    }

    private async Task<DatabaseRestoreResult> RunCoreAsync(PostgresLocation target, DatabaseEntry database, DatabaseRestoreOptions options,
        ConcurrentQueue<Task<NpgsqlConnection>> opening, CancellationToken cancellationToken)
    {
        var (jobs, readBack) = (options.Jobs, options.ReadBack);
        var psql = PgTools.Find("psql");
        var postData = SchemaScript.Parse(await ReadTextAsync(database.PostData, cancellationToken));
        await RunSqlAsync(psql, target, database.PreData, "pre-data", cancellationToken);

        // Each table's own indexes and key constraints (they only read that table); those on other tables (partitioned
        // parents) wait for every load.
        var ofTable = database.Tables.ToDictionary(t => (t.Table!.Schema, t.Table.Name), _ => new List<string>());
        var afterLoads = new List<string>();
        foreach (var sql in postData.Independent)
        {
            (SchemaScript.TableOf(sql) is { } table && ofTable.TryGetValue(table, out var own) ? own : afterLoads).Add(sql);
        }
        // Beside the loads: each table's indexes and key constraints as soon as its rows are in, then (unless told not
        // to) its read-back. Nothing after that changes a table's rows (foreign keys, triggers and sequences do not), so
        // small tables are verified while the large ones still load, and the last while the rest of the schema applies.
        var beside = new List<Task>();
        var builds = new List<Task>();
        var checks = new List<RestoredTable>();
        using var slots = new SemaphoreSlim(jobs);
        await using var schemaConnections = new IdleConnections(ct => OpenForSchemaAsync(target, postData.Preamble, ct));
        await using var checkConnections = new IdleConnections(ct => PostgresErrors.OpenAsync(target, ct));
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task Beside(Func<Task> work)
        {
            var task = Task.Run(async () =>
            {
                try
                {
                    await work();
                }
                catch
                {
                    await failed.CancelAsync(); // no use loading more tables into a schema that did not apply
                    throw;
                }
            }, CancellationToken.None);
            lock (beside)
            {
                beside.Add(task);
            }
            return task;
        }
        Task[] Running(List<Task> tasks)
        {
            lock (beside)
            {
                return [.. tasks];
            }
        }
        try
        {
            var loaded = await LoadTablesAsync(target, () => opening.TryDequeue(out var next) ? next : PostgresErrors.OpenAsync(target, failed.Token),
                database.Tables.OrderByDescending(t => t.Size).ToList(), options, (table, rows) =>
            {
                var statements = ofTable[(table.Table!.Schema, table.Table.Name)];
                var build = Beside(() => BuildAsync(target, schemaConnections, statements, slots, failed.Token));
                lock (beside)
                {
                    builds.Add(build);
                }
                if (readBack)
                {
                    Beside(async () =>
                    {
                        await build;
                        var check = await VerifyAsync(target, checkConnections, table, rows, slots, failed.Token);
                        lock (checks)
                        {
                            checks.Add(check);
                        }
                    });
                }
            }, failed.Token);
            if (afterLoads.Count > 0)
            {
                await ConnectionWorkers.RunAsync(afterLoads, jobs, () => OpenForSchemaAsync(target, postData.Preamble, failed.Token),
                    (connection, sql) => ExecuteSchemaAsync(connection, target, sql, failed.Token), failed.Token);
            }
            await Task.WhenAll(Running(builds));
            if (postData.SetsRowSecurity)
            {
                // Policies would apply to the checks of tables the restoring role owns with FORCE ROW LEVEL SECURITY
                // (set before the load, which it did not touch): the checks finish before the schema turns them on.
                await Task.WhenAll(Running(beside));
            }
            // The rest in pg_dump's order, as one script: foreign keys need the keys they point to, triggers come last.
            using (var rest = new MemoryStream(Encoding.UTF8.GetBytes(postData.Dependent)))
            {
                await RunSqlAsync(psql, target, rest, "post-data", failed.Token);
            }
            await SetSequencesAndViewsAsync(target, database.Info, failed.Token);
            await Task.WhenAll(Running(beside));
            if (!readBack)
            {
                checks.AddRange(loaded.Select(t => new RestoredTable(t.Key.Table!.QualifiedName, t.Key.Table.Rows, t.Value.Rows, ChecksumMatches: true)));
            }
        }
        catch (Exception ex)
        {
            // Index builds and read-backs still running work on a restore that failed: stop them before the error goes
            // up. When one of them failed first, the rest stopped because of it, and its error is the one to report.
            await failed.CancelAsync();
            var running = Running(beside);
            await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var cause = ex is OperationCanceledException && !cancellationToken.IsCancellationRequested
                ? running.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions).FirstOrDefault(e => e is not OperationCanceledException) ?? ex
                : ex;
            if (cancellationToken.IsCancellationRequested)
            {
                throw new ArcaException(ErrorCode.Interrupted, "Interrupted; the target database holds part of the restore (its schema, maybe some rows).",
                    "Drop it, create it empty again and run the restore again.", cause);
            }
            if (PostgresErrors.Translate(cause, target) is { } error)
            {
                // The server's error, said as it is, but the schema has applied: what was written stays.
                throw new ArcaException(error.Code, error.Message, PartlyRestoredHint, cause);
            }
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
            throw;
        }
        return new DatabaseRestoreResult([.. checks.OrderBy(c => c.Table, StringComparer.Ordinal)], database.Info.Sequences?.Count ?? 0, readBack);
    }

    /// <summary>How to mend a restore that failed once the schema had applied: the target holds part of it.</summary>
    private const string PartlyRestoredHint =
        "The target database holds part of the restore: mend the cause, then drop it, create it empty again and run the restore again.";

    /// <summary>Sets every sequence to exactly its value in the snapshot, and fills the materialized views that were filled.</summary>
    private static async Task SetSequencesAndViewsAsync(PostgresLocation target, DatabaseInfo info, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresErrors.OpenAsync(target, cancellationToken);
        foreach (var sequence in info.Sequences ?? [])
        {
            var name = new TableName(sequence.Schema, sequence.Name);
            await using var cmd = new NpgsqlCommand($"SELECT setval({TableName.Literal(name.Sql)}, {sequence.LastValue}, {(sequence.IsCalled ? "true" : "false")})", connection);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        foreach (var view in info.MaterializedViews ?? [])
        {
            var parts = view.Split('.', 2);
            await using var cmd = new NpgsqlCommand($"REFRESH MATERIALIZED VIEW {new TableName(parts[0], parts[1]).Sql}", connection);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Loads every table, largest first, over as many connections as jobs. With <see cref="DatabaseRestoreOptions.SplitTables"/>,
    /// a table of at least <see cref="JoinableBytes"/> loads so that a connection with no table left can join it (see
    /// <see cref="TableLoad"/>); any other is frozen as it loads. Returns what each was loaded with: its rows' digest if
    /// the tables are to be read back, else their count.
    /// </summary>
    private async Task<Dictionary<Node, RowMultiset>> LoadTablesAsync(PostgresLocation target, Func<Task<NpgsqlConnection>> open, IReadOnlyList<Node> largestFirst,
        DatabaseRestoreOptions options, Action<Node, RowMultiset> tableLoaded, CancellationToken cancellationToken)
    {
        var (jobs, digest) = (options.Jobs, options.ReadBack);
        var loaded = new Dictionary<Node, RowMultiset>();
        var running = new List<TableLoad>();
        await ConnectionWorkers.RunAsync(largestFirst, jobs, open, async (connection, table) =>
        {
            var info = table.Table!;
            var joinable = Joinable(table, options);
            var binary = await BinaryCopy.FitsAsync(connection, info, cancellationToken);
            var load = TableLoad.Start(loader, table, joinable, digest, binary, cancellationToken);
            lock (running)
            {
                running.Add(load);
            }
            RowMultiset rows;
            try
            {
                rows = await load.RunAsync(connection, CopySql(table), joinable ? null : new TableName(info.Schema, info.Name), cancellationToken);
            }
            catch (PostgresException ex) when (PostgresErrors.Translate(ex, target) is { Code: ErrorCode.DatabaseFailed })
            {
                // A server that went away keeps its own code (Translate, above the load).
                throw new ArcaException(ErrorCode.DatabaseFailed, $"The rows of {info.QualifiedName} did not load: {ex.MessageText}.", PartlyRestoredHint, ex);
            }
            finally
            {
                lock (running)
                {
                    running.Remove(load);
                }
            }
            lock (loaded)
            {
                loaded.Add(table, rows);
            }
            tableLoaded(table, rows);
        }, cancellationToken, idle: !largestFirst.Any(t => Joinable(t, options)) ? null : async connection =>
        {
            // No table left for this connection: help send the rows of the load with the most still to read.
            TableLoad? most;
            lock (running)
            {
                most = running.Where(l => l.CanJoin && l.Remaining >= JoinableBytes / 4).MaxBy(l => l.Remaining);
            }
            if (most?.TryJoin(connection, CopySql(most.Node), cancellationToken) is not { } part)
            {
                return most is not null; // that one closed a moment ago: look again
            }
            return await part; // a part that failed may have broken the connection: this worker stops (its lead reports why)
        });
        return loaded;
    }

    /// <summary>
    /// With <see cref="DatabaseRestoreOptions.SplitTables"/>, tables this large load so that idle connections can join
    /// (<see cref="TableLoad"/>): sharing a table's parse between server processes outweighs freezing its rows, and a
    /// smaller one is done before a joiner would have helped much.
    /// </summary>
    private const long JoinableBytes = 32L << 20;

    private static bool Joinable(Node table, DatabaseRestoreOptions options) => options.SplitTables && options.Jobs > 1 && table.Size >= JoinableBytes;

    /// <summary>How many connections the loads use: one a table up to the jobs, or all of them where one table may be shared.</summary>
    private static int LoadConnections(IReadOnlyList<Node> tables, DatabaseRestoreOptions options) =>
        tables.Any(t => Joinable(t, options)) ? options.Jobs : Math.Min(options.Jobs, tables.Count);

    private static string CopySql(Node node)
    {
        var info = node.Table!;
        var columns = string.Join(", ", info.Columns.Select(c => TableName.Ident(c.Name)));
        // A table of no columns (legal, if rare) has no column list: each of its rows is an empty line.
        return $"COPY {new TableName(info.Schema, info.Name).Sql}{(info.Columns.Count > 0 ? $" ({columns})" : "")} FROM STDIN";
    }

    /// <summary>
    /// Has a restored table digested, once a slot is free, and compares its rows, as a multiset, and their count with
    /// what was loaded (which matched the snapshot's checksum on the way in). The server digests it where it can (see
    /// <see cref="RowMultiset.ServerDigestsAsync"/>); else the rows are read back over COPY and digested here.
    /// </summary>
    private static async Task<RestoredTable> VerifyAsync(PostgresLocation target, IdleConnections connections, Node node, RowMultiset loaded,
        SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken);
        try
        {
            var info = node.Table!;
            var restored = await connections.UseAsync(async connection => await RowMultiset.ServerDigestsAsync(connection, cancellationToken)
                ? await RowMultiset.OfTableOnServerAsync(connection, info, cancellationToken)
                : (RowMultiset?)null, cancellationToken);
            restored ??= await Task.Run(async () =>
            {
                using var native = NativeConnections.Open(target);
                return await RowMultiset.OfTableReadBackAsync(native, info, cancellationToken);
            }, cancellationToken);
            return new RestoredTable(info.QualifiedName, info.Rows, restored.Value.Rows, restored == loaded && loaded.Rows == info.Rows);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Builds one table's indexes and key constraints, in pg_dump's order, once a slot is free.</summary>
    private static async Task BuildAsync(PostgresLocation target, IdleConnections connections, IReadOnlyList<string> statements, SemaphoreSlim slots,
        CancellationToken cancellationToken)
    {
        if (statements.Count == 0)
        {
            return;
        }
        await slots.WaitAsync(cancellationToken);
        try
        {
            await connections.UseAsync(async connection =>
            {
                foreach (var sql in statements)
                {
                    await ExecuteSchemaAsync(connection, target, sql, cancellationToken);
                }
                return true;
            }, cancellationToken);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>
    /// Connections kept open between uses: each table's index builds, and its check, want one for a moment, and a server
    /// process's start can cost more than a small table's work (a database of hundreds of tables opened hundreds).
    /// </summary>
    private sealed class IdleConnections(Func<CancellationToken, Task<NpgsqlConnection>> open) : IAsyncDisposable
    {
        private readonly ConcurrentBag<NpgsqlConnection> _idle = [];

        /// <summary>Runs <paramref name="work"/> on an idle connection, or a new one; kept for the next use unless it failed.</summary>
        public async Task<T> UseAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
        {
            var connection = _idle.TryTake(out var idle) ? idle : await open(cancellationToken);
            T result;
            try
            {
                result = await work(connection);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
            _idle.Add(connection);
            return result;
        }

        public async ValueTask DisposeAsync()
        {
            while (_idle.TryTake(out var connection))
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>A connection set up as pg_dump's script sets its session up (search path, and so on).</summary>
    private static async Task<NpgsqlConnection> OpenForSchemaAsync(PostgresLocation target, string preamble, CancellationToken cancellationToken)
    {
        var connection = await PostgresErrors.OpenAsync(target, cancellationToken);
        try
        {
            await PostgresErrors.ExecuteAsync(connection, preamble, cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        return connection;
    }

    private static async Task ExecuteSchemaAsync(NpgsqlConnection connection, PostgresLocation target, string sql, CancellationToken cancellationToken)
    {
        try
        {
            await PostgresErrors.ExecuteAsync(connection, sql, cancellationToken);
        }
        catch (PostgresException ex)
        {
            throw new ArcaException(ErrorCode.DatabaseFailed, $"An index or constraint of the schema did not apply to {target.Display}: {ex.MessageText}.",
                "Mend the cause and restore into a fresh empty database.", ex);
        }
    }

    private async Task<string> ReadTextAsync(Node file, CancellationToken cancellationToken)
    {
        await using var content = new ContentReader(loader, file.Content ?? []);
        using var memory = new MemoryStream();
        await content.CopyToAsync(memory, cancellationToken);
        return Encoding.UTF8.GetString(memory.ToArray());
    }

    private async Task RunSqlAsync(string psql, PostgresLocation target, Node script, string section, CancellationToken cancellationToken)
    {
        await using var content = new ContentReader(loader, script.Content ?? []);
        await RunSqlAsync(psql, target, content, section, cancellationToken);
    }

    private static async Task RunSqlAsync(string psql, PostgresLocation target, Stream script, string section, CancellationToken cancellationToken)
    {
        try
        {
            await PgTools.RunAsync(psql, ["-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"],
                target.ToolEnvironment(), script, cancellationToken);
        }
        catch (ToolFailedException ex)
        {
            throw new ArcaException(ErrorCode.DatabaseFailed,
                $"The schema's {section} section did not apply to {target.Display}: {ex.Error.Split('\n')[0]}",
                "Mend the cause (a missing role or extension, say) and restore into a fresh empty database.", ex);
        }
    }
}
