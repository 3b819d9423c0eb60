using System.Text;
using Arca.Backup;
using Arca.Repo;
using Arca.Repo.Chunking;
using Arca.Restore;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>What to take from a database; the strings are as the user wrote them on the command line.</summary>
public sealed record PostgresBackupOptions
{
    /// <summary>SCHEMA.TABLE names; empty means every table of every non-system schema.</summary>
    public IReadOnlyList<string> Tables { get; init; } = [];
    /// <summary>'SCHEMA.TABLE: SQL condition' row filters.</summary>
    public IReadOnlyList<string> Filters { get; init; } = [];
    /// <summary>SCHEMA.TABLE.COLUMN names left out.</summary>
    public IReadOnlyList<string> ExcludedColumns { get; init; } = [];
    /// <summary>Tables read at once, each over its own connection sharing one exported snapshot.</summary>
    public int Jobs { get; init; } = 2;
}

public sealed record PostgresBackupResult(Node Entry, int Tables, long Rows, long Bytes, IReadOnlyList<string> Warnings);

/// <summary>
/// Backs up a PostgreSQL database as one snapshot entry: a folder holding the schema (pg_dump's pre-data and
/// post-data sections) and a folder of tables, each a file of its rows in COPY text format, in primary-key
/// order. Every table is read in one REPEATABLE READ, READ ONLY transaction whose snapshot is exported to the
/// other readers and to pg_dump, so the whole entry shows one moment of the database; READ ONLY is also what
/// keeps a row filter from writing.
/// </summary>
public sealed class PostgresBackup(IBlobSaver saver, IBlobLoader loader, ITreeLoader trees, Chunker chunker)
{
    public const string Format = "pg-copy-text";

    /// <summary>
    /// A delta is written against its parent's base while the changes since that base stay below this share of
    /// the base's bytes; past it, the table is stored whole again (a new base), so deltas never grow large.
    /// </summary>
    private const double MaxDeltaShare = 0.25;

    /// <summary>
    /// Rows are compressed at zstd level 1, whatever the repository's level: on COPY text, level 3 takes twice the
    /// CPU for no gain (the bench fixture's items: 90.6 MB at level 1 in 0.72 s, 91.4 MB at level 3 in 1.36 s),
    /// and a backup shares its two cores with the server producing the rows.
    /// </summary>
    private const int RowsCompressionLevel = 1;

    /// <summary>Reads the tables of a database opened with <see cref="DatabaseRead.BeginAsync"/> into the repository.</summary>
    /// <param name="parent">The same database's entry in the parent snapshot, if any: tables unchanged in layout are stored as deltas against its bases.</param>
    public async Task<PostgresBackupResult> RunAsync(DatabaseRead read, Node? parent, CancellationToken cancellationToken)
    {
        try
        {
            var parentTables = await ParentTablesAsync(parent, cancellationToken);
            return await RunCoreAsync(read, parentTables, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.Translate(ex, read.Location) is { } error)
        {
            throw error;
        }
    }

    private async Task<Tree?> ParentTablesAsync(Node? parent, CancellationToken cancellationToken)
    {
        if (parent is not { Database: not null, Subtree: { } subtree })
        {
            return null;
        }
        try
        {
            var database = await trees.LoadTreeAsync(subtree, cancellationToken);
            return database.Find("tables") is { Subtree: { } tables } ? await trees.LoadTreeAsync(tables, cancellationToken) : null;
        }
        catch (Exception ex) when (ex is ArcaException or BlobDamagedException or InvalidDataException)
        {
            return null; // A damaged parent only costs full copies of the tables.
        }
    }

    private async Task<PostgresBackupResult> RunCoreAsync(DatabaseRead read, Tree? parentTables, CancellationToken cancellationToken)
    {
        var location = read.Location;
        var selection = read.Selection;
        var startNs = read.StartNs;
        var saverOfContent = new ContentSaver(saver, chunker, RowsCompressionLevel);
        var nodes = new List<Node>();
        // Rows are read through libpq (see PgNativeConnection), on connections that share the snapshot: each reader first
        // the table whose rows it began (DatabaseRead.ScannedTable), then the others, largest first, as they come.
        var readers = read.TakeReaders();
        var queue = new Queue<PgTable>(read.Tables.Where(t => readers.All(r => r.Scanned?.Table != t)).OrderByDescending(t => t.EstimatedBytes));
        PgTable? Next()
        {
            lock (queue)
            {
                return queue.TryDequeue(out var next) ? next : null;
            }
        }
        var reading = Task.WhenAll(readers.Select(reader => Task.Run(async () =>
        {
            await using var connection = await reader.Connection;
            try
            {
                var (table, scanned) = reader.Scanned is { } own ? (own.Table, own) : (Next(), null);
                while (table is not null)
                {
                    var node = await BackupTableAsync(connection, read, table, scanned, saverOfContent, parentTables?.Find(table.Name.EntryName), startNs, cancellationToken);
                    lock (nodes)
                    {
                        nodes.Add(node);
                    }
                    (table, scanned) = (Next(), null);
                }
            }
            finally
            {
                if (reader.Scanned is { } own)
                {
                    await own.StopRowsAsync(); // (read to their end, or the backup failed first)
                }
            }
        }, CancellationToken.None))); // (not cancellable before it starts: the reader connections are its to close)
        try
        {
            await reading;
        }
        finally
        {
            // pg_dump reads through the exported snapshot: the transaction that holds it stays open until both
            // are done, even when a reader failed (whose error is then the one to report).
            try
            {
                await Task.WhenAll(read.PreData, read.PostData);
            }
            catch (Exception) when (reading.IsFaulted || reading.IsCanceled)
            {
            }
        }
        var preDataNode = await SaveFileAsync(saverOfContent, "pre-data.sql", await read.PreData, startNs, cancellationToken);
        var postDataNode = await SaveFileAsync(saverOfContent, "post-data.sql", await read.PostData, startNs, cancellationToken);
        await PostgresErrors.ExecuteAsync(read.Main, "COMMIT", cancellationToken);

        var tableNodes = nodes.OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        var tablesTree = await SaveTreeAsync(tableNodes, cancellationToken);
        var databaseTree = await SaveTreeAsync(
        [
            postDataNode,
            preDataNode,
            DirNode("tables", startNs) with { Subtree = tablesTree },
        ], cancellationToken);
        var entry = DirNode(EntryName(location.Database), startNs) with
        {
            Subtree = databaseTree,
            Database = new DatabaseInfo
            {
                Engine = "postgresql",
                Name = location.Database,
                Source = location.Display,
                ServerVersion = read.ServerVersion,
                SchemaTool = read.DumpVersion,
                Partial = !selection.All,
                Sequences = read.Sequences,
                MaterializedViews = read.MaterializedViews.Count > 0 ? read.MaterializedViews : null,
            },
        };
        return new PostgresBackupResult(entry, tableNodes.Count, tableNodes.Sum(n => n.Table!.Rows), tableNodes.Sum(n => n.Size), read.Warnings);
    }

    /// <summary>The name a database takes in a snapshot's root: its own, with '/' and '%' escaped.</summary>
    public static string EntryName(string database) =>
        database.Replace("%", "%25", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal) is var name && Node.IsSafeName(name) ? name : "%" + name;

    internal static async Task CheckFilterAsync(NpgsqlConnection connection, PgTable table, string filter, CancellationToken cancellationToken)
    {
        // Parsed and planned, but no row is read (LIMIT 0): a filter that does not parse, names a missing column
        // or holds a second statement fails here, before anything is read. One that writes gets through and
        // fails when the rows are read, in the READ ONLY transaction.
        try
        {
            await using var cmd = PostgresErrors.SingleStatement($"SELECT 1 FROM ONLY {table.Name.Sql} AS t WHERE ({filter}) AND $1 LIMIT 0", connection);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState != "55P03") // (a lock not had is no fault of the filter's)
        {
            throw FilterError(table.Name, filter, ex.SqlState, ex.MessageText, ex);
        }
    }

    /// <param name="restore">A restore's --where names no table (it applies to the tables restored): its example says so.</param>
    internal static ArcaException FilterError(TableName table, string filter, string sqlState, string message, Exception ex, bool restore = false) => sqlState == "25006"
        ? new ArcaException(ErrorCode.FilterWrites, $"The row filter for {table} tries to write ({message}); filters run read-only, so nothing was written.",
            "A filter may only read: write it as a condition on the table's columns, e.g. 'created_at > now() - interval '7 days''.", ex)
        : new ArcaException(ErrorCode.InvalidFilter, $"The row filter for {table} is not a valid condition: {message}.",
            $"Write it as the SQL that would follow WHERE, e.g. --where '{(restore ? "" : "public.orders: ")}status = ''open'''.", ex);

    /// <summary>The columns of a table a backup reads: all but generated and excluded ones.</summary>
    internal static List<PgColumn> ColumnsOf(PgTable table, BackupSelection selection)
    {
        var excluded = selection.Excluded.GetValueOrDefault(table.Name);
        return [.. table.Columns.Where(c => !c.Generated && excluded?.Contains(c.Name) != true)];
    }

    /// <summary>
    /// Where the key is among <see cref="ColumnsOf"/>, when the table is one to read as it lies (see
    /// <see cref="PhysicalScan"/>): large, unfiltered, keyed by one integer or uuid column. Otherwise -1: ORDER BY.
    /// </summary>
    internal static int PhysicalKeyColumn(PgTable table, BackupSelection selection)
    {
        if (table.Key.Count != 1 || table.EstimatedBytes < PhysicalScan.MinTableBytes || selection.Filters.ContainsKey(table.Name))
        {
            return -1;
        }
        var columns = ColumnsOf(table, selection);
        var key = columns.FindIndex(c => c.Name == table.Key[0]);
        return key >= 0 && KeyOrder.IsOrderable(columns[key].Type) ? key : -1;
    }

    /// <param name="scanned">The table's rows and key scan, when they began with the read (see <see cref="DatabaseRead.ScannedTable"/>).</param>
    private async Task<Node> BackupTableAsync(Native.PgNativeConnection connection, DatabaseRead read, PgTable table, DatabaseRead.ScannedTable? scanned,
        ContentSaver contentSaver, Node? parent, long timeNs, CancellationToken cancellationToken)
    {
        var selection = read.Selection;
        var excluded = selection.Excluded.GetValueOrDefault(table.Name) ?? [];
        var columns = ColumnsOf(table, selection);
        selection.Filters.TryGetValue(table.Name, out var filter);
        var info = new TableInfo
        {
            Engine = "postgresql",
            Schema = table.Name.Schema,
            Name = table.Name.Name,
            Columns = [.. columns.Select(c => new TableColumn(c.Name, c.Type, c.NotNull))],
            Key = table.Key,
            Format = Format,
            Checksum = "",
            Filter = filter,
            ExcludedColumns = excluded.Count > 0 ? [.. excluded.Order(StringComparer.Ordinal)] : null,
            References = table.References.Count > 0 ? [.. table.References.Select(r => r.ToString()).Order(StringComparer.Ordinal)] : null,
        };
        var select = $"SELECT {string.Join(", ", columns.Select(c => "t." + TableName.Ident(c.Name)))} FROM ONLY {table.Name.Sql} AS t" +
            (filter is null ? "" : $" WHERE ({filter})") + $" ORDER BY {PostgresCatalog.OrderBy(table.Key)}";
        var deltaBase = DeltaBaseFor(info, parent);
        try
        {
            // Large tables are read as they lie and put in key order here (see PhysicalScan), which costs the server
            // less than ORDER BY's index scan; the rows stored are the same.
            var keyColumn = PhysicalKeyColumn(table, selection);
            var (plan, asTheyLie) = scanned is not null ? await read.ScannedRowsAsync(scanned, connection)
                : keyColumn >= 0 && await PhysicalScan.PlanAsync(connection, table, columns, keyColumn, cancellationToken) is { } own
                    ? (own, PhysicalScan.StartRows(connection, table, columns, readAheadChunks: 0))
                    : (null, null);
            if (plan is null)
            {
                connection.StartCopyOut($"COPY ({select}) TO STDOUT");
            }
            await using var live = plan?.Merge(asTheyLie!) ?? new NativeCopyStream(connection);
            if (deltaBase is { } b && KeyOrder.For(info) is { } order)
            {
                await using var delta = new DeltaStream(order, live, new ContentReader(loader, b.Blobs));
                var changes = await contentSaver.SaveAsync(delta, null, cancellationToken);
                return TableNode(table, timeNs, b.Bytes + changes.Size, [.. b.Blobs, .. changes.Content], info with
                {
                    Kind = RowDelta.Kind,
                    Base = new TableBase(b.Blobs.Count, b.Bytes, b.Rows),
                    Rows = delta.LiveRows,
                    Checksum = delta.LiveChecksum(),
                });
            }
            long rows = 0;
            var saved = await contentSaver.SaveAsync(live, bytes => rows += bytes.Count((byte)'\n'), cancellationToken);
            return TableNode(table, timeNs, saved.Size, saved.Content, info with { Rows = rows, Checksum = saved.Sha256Hex! });
        }
        catch (Native.PgNativeException ex) when (filter is not null && ex.SqlState is { } state &&
            (state == "25006" || state.StartsWith("42", StringComparison.Ordinal) || state.StartsWith("22", StringComparison.Ordinal)))
        {
            throw FilterError(table.Name, filter, state, ex.Message, ex);
        }
    }

    /// <summary>
    /// The full base a table can be stored as a delta against: the parent's (its whole content if it was stored
    /// whole, its base if it was a delta), when the table's layout and filter are unchanged, its key is one
    /// whose order Arca can follow, the base's blobs are all in the repository, and the parent's own changes
    /// are still small beside its base.
    /// </summary>
    private (IReadOnlyList<BlobId> Blobs, long Bytes, long Rows)? DeltaBaseFor(TableInfo info, Node? parent)
    {
        if (parent?.Table is not { } previous || KeyOrder.For(info) is null || previous.Format != Format ||
            !previous.Columns.SequenceEqual(info.Columns) || !previous.Key.SequenceEqual(info.Key) || previous.Filter != info.Filter ||
            !(previous.ExcludedColumns ?? []).SequenceEqual(info.ExcludedColumns ?? []))
        {
            return null;
        }
        var b = RowDelta.BaseOf(parent);
        if (b.Bytes == 0 || parent.Size - b.Bytes > b.Bytes * MaxDeltaShare || !b.Blobs.All(saver.HasBlob))
        {
            return null;
        }
        return b;
    }

    private static Node TableNode(PgTable table, long timeNs, long size, IReadOnlyList<BlobId> content, TableInfo info) => new()
    {
        Name = table.Name.EntryName,
        Type = NodeType.File,
        Mode = 0x1A4,
        Size = size,
        ModifyTimeNs = timeNs,
        ChangeTimeNs = timeNs,
        Content = content,
        Table = info,
    };

    internal static async Task<byte[]> DumpSchemaAsync(string pgDump, PostgresLocation location, string snapshotId, string section,
        IReadOnlyList<PgTable>? tables, CancellationToken cancellationToken)
    {
        // pg_dump locks the tables too, after the backup's connections: a schema change asked for meanwhile queues behind
        // those, and pg_dump behind the change, which waits for the backup. Better to fail than to wait for ever.
        List<string> arguments = ["--schema-only", $"--section={section}", $"--snapshot={snapshotId}", "--no-password", "--lock-wait-timeout=5000"];
        foreach (var table in tables ?? [])
        {
            arguments.Add("--table=" + table.Name.Sql);
        }
        try
        {
            return await PgTools.RunAsync(pgDump, arguments, location.ToolEnvironment(), null, cancellationToken);
        }
        catch (ToolFailedException ex) when (ex.Error.Contains("timeout", StringComparison.Ordinal) &&
            ex.Error.IndexOf("LOCK TABLE ", StringComparison.Ordinal) is var at and >= 0)
        {
            // "pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout", then the LOCK it ran
            // ("Query was: LOCK TABLE t1[, t2...] IN ACCESS SHARE MODE"): its first table says enough.
            var locked = ex.Error[(at + "LOCK TABLE ".Length)..].Split('\n')[0];
            var end = locked.IndexOf(',') is var comma and >= 0 ? comma : locked.IndexOf(" IN ACCESS SHARE MODE", StringComparison.Ordinal);
            throw PostgresErrors.LockNotHad($"pg_dump waited 5 s to lock {(end >= 0 ? locked[..end] : locked).Trim()}", ex);
        }
        catch (ToolFailedException ex)
        {
            throw new ArcaException(ErrorCode.DatabaseFailed, $"pg_dump could not write the schema of {location.Display}: {ex.Error.Split('\n')[0]}",
                "Mend the cause pg_dump names, then run the backup again.", ex);
        }
    }

    private async Task<Node> SaveFileAsync(ContentSaver contentSaver, string name, byte[] bytes, long timeNs, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        var saved = await contentSaver.SaveAsync(stream, null, cancellationToken);
        return new Node { Name = name, Type = NodeType.File, Mode = 0x1A4, Size = saved.Size, ModifyTimeNs = timeNs, ChangeTimeNs = timeNs, Content = saved.Content };
    }

    private async Task<BlobId> SaveTreeAsync(List<Node> nodes, CancellationToken cancellationToken)
    {
        var bytes = new Tree(nodes).Serialize();
        var id = saver.IdOf(bytes);
        await saver.SaveBlobAsync(BlobType.Tree, id, bytes, cancellationToken);
        return id;
    }

    private static Node DirNode(string name, long timeNs) =>
        new() { Name = name, Type = NodeType.Dir, Mode = 0x1ED, ModifyTimeNs = timeNs, ChangeTimeNs = timeNs };
}

/// <summary>The tables, filters and excluded columns of a backup, parsed and checked against the catalog.</summary>
internal sealed class BackupSelection
{
    public bool All { get; private init; }
    public IReadOnlyList<TableName> Tables { get; private init; } = [];
    public Dictionary<TableName, string> Filters { get; } = [];
    public Dictionary<TableName, HashSet<string>> Excluded { get; } = [];

    public static BackupSelection Parse(PostgresBackupOptions options)
    {
        if (options.Jobs < 1)
        {
            throw new ArcaException(ErrorCode.Usage, $"--jobs {options.Jobs} is not a number of readers.", "Give 1 or more, e.g. --jobs 2.");
        }
        var selection = new BackupSelection
        {
            All = options.Tables.Count == 0,
            Tables = [.. options.Tables.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(TableName.Parse)],
        };
        foreach (var text in options.Filters)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || string.IsNullOrWhiteSpace(text[(colon + 1)..]))
            {
                throw new ArcaException(ErrorCode.Usage, $"The row filter '{text}' does not say which table it is for.",
                    "Write it as --where 'SCHEMA.TABLE: condition', e.g. --where 'public.orders: id > 1000'.");
            }
            var table = TableName.Parse(text[..colon].Trim());
            if (!selection.Filters.TryAdd(table, text[(colon + 1)..].Trim()))
            {
                throw new ArcaException(ErrorCode.Usage, $"{table} has two row filters.", "Join them with AND into one --where.");
            }
        }
        foreach (var text in options.ExcludedColumns)
        {
            var parts = TableName.SplitQualified(text);
            if (parts.Count != 3)
            {
                throw new ArcaException(ErrorCode.Usage, $"'{text}' is not a column name.", "Write it as SCHEMA.TABLE.COLUMN, e.g. public.users.password_hash.");
            }
            var table = new TableName(parts[0], parts[1]);
            if (!selection.Excluded.TryGetValue(table, out var set))
            {
                selection.Excluded[table] = set = new HashSet<string>(StringComparer.Ordinal);
            }
            set.Add(parts[2]);
        }
        return selection;
    }

    /// <summary>The tables to read, checking that every table and column named exists.</summary>
    public List<PgTable> Select(List<PgTable> all, PostgresLocation location)
    {
        var byName = all.ToDictionary(t => t.Name);
        foreach (var name in Tables.Concat(Filters.Keys).Concat(Excluded.Keys))
        {
            if (!byName.ContainsKey(name))
            {
                throw new ArcaException(ErrorCode.TableNotFound, $"The database {location.Display} has no table {name}.",
                    "Check the name as SCHEMA.TABLE (psql's \\dt lists them); names are case-sensitive.");
            }
        }
        var chosen = All ? all : [.. Tables.Distinct().Select(n => byName[n])];
        foreach (var name in Filters.Keys.Concat(Excluded.Keys))
        {
            if (!chosen.Any(t => t.Name == name))
            {
                throw new ArcaException(ErrorCode.Usage, $"A --where or --exclude-column names {name}, which is not among the --table tables.",
                    $"Add --table {name}, or drop the option.");
            }
        }
        foreach (var (name, columns) in Excluded)
        {
            var table = byName[name];
            foreach (var column in columns.Where(c => table.Columns.All(col => col.Name != c)))
            {
                throw new ArcaException(ErrorCode.Usage, $"{name} has no column '{column}' to exclude.", $"Its columns are: {string.Join(", ", table.Columns.Select(c => c.Name))}.");
            }
            if (table.Key.Any(columns.Contains))
            {
                throw new ArcaException(ErrorCode.Usage, $"A key column of {name} cannot be excluded: rows are matched by it on restore.",
                    "Exclude other columns only.");
            }
        }
        return chosen;
    }
}
