using Arca.Repo;
using Arca.Restore;
using Arca.Sources.Postgres;
using Arca.Sources.Sqlite;
using Arca.Trees;

namespace Arca.Operations;

public sealed record DatabaseRestoreRequest
{
    public required SnapshotSelector Snapshot { get; init; }
    /// <summary>The live database to restore into (postgresql://... or sqlite:PATH).</summary>
    public required string To { get; init; }
    /// <summary>Which database of the snapshot (its name); needed only when the snapshot holds several.</summary>
    public string? Database { get; init; }
    /// <summary>Tables to restore into the live database; empty means the whole database (into an empty one).</summary>
    public IReadOnlyList<string> Tables { get; init; } = [];
    public TableRestoreOptions TableOptions { get; init; } = new();
    public int Jobs { get; init; } = 2;
    /// <summary>Whole-database restore: read every table back after the restore and compare its rows with what was loaded.</summary>
    public bool ReadBack { get; init; } = true;
    /// <summary>Whole-database restore: let idle connections join the load of a large table (<see cref="DatabaseRestoreOptions.SplitTables"/>).</summary>
    public bool SplitTables { get; init; }
    /// <summary>For a SQLite target: how long to wait for another connection's lock.</summary>
    public TimeSpan SqliteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public bool ToSqlite => SqliteLocation.IsSqliteSource(To);

    /// <summary>--no-verify given to any restore but a whole PostgreSQL database's.</summary>
    public static ArcaException NoVerifyMisplaced() => WholeDatabaseOnly("--no-verify", "; other restores always check what they wrote");

    /// <summary>--split-tables given to any restore but a whole PostgreSQL database's.</summary>
    public static ArcaException SplitTablesMisplaced() => WholeDatabaseOnly("--split-tables", "");

    private static ArcaException WholeDatabaseOnly(string option, string why) => new(ErrorCode.Usage,
        $"{option} applies to a whole-database restore (--database NAME --to postgresql://...){why}.", $"Leave {option} out.");

    public void Validate()
    {
        if (!PostgresLocation.IsPostgresUrl(To) && !ToSqlite)
        {
            throw new ArcaException(ErrorCode.Usage, $"--to '{PostgresLocation.Redact(To)}' is not a database.",
                "Write it as postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE or sqlite:PATH.");
        }
        if (ToSqlite && Tables.Count == 0)
        {
            throw new ArcaException(ErrorCode.Usage, "--to sqlite:PATH restores tables into a live SQLite database, and no --table was named.",
                "Name the tables with --table; to restore the whole file, use --sqlite NAME --target FILE.");
        }
        if (Tables.Count == 0 && Database is null)
        {
            throw new ArcaException(ErrorCode.Usage, "Restoring into a database needs --table (some tables) or --database (the whole database).",
                "E.g. --table public.orders --to postgresql://..., or --database app --to postgresql://.../empty_db.");
        }
        if (Tables.Count == 0 && (TableOptions.DryRun || TableOptions.Filter is not null || TableOptions.Into is not null))
        {
            throw new ArcaException(ErrorCode.Usage, "--dry-run, --where and --into apply to table restores.", "Name the tables with --table.");
        }
        if (Tables.Count > 0 && !ReadBack)
        {
            throw NoVerifyMisplaced();
        }
        if (Tables.Count > 0 && SplitTables)
        {
            throw SplitTablesMisplaced();
        }
    }
}

/// <summary>Finds a snapshot's databases and tables, and restores them into live databases.</summary>
public sealed class DatabaseRestoreOperation
{
    /// <summary>
    /// Restores tables of a snapshot into a live database. The tables may come from a PostgreSQL or a SQLite database of
    /// the snapshot, and go to either engine: across engines, columns are matched by name and values converted.
    /// </summary>
    public async Task<(SnapshotId Id, List<TableRestoreResult> Results)> RestoreTablesAsync(RepositorySession session, DatabaseRestoreRequest request,
        CancellationToken cancellationToken)
    {
        request.Validate();
        var repository = session.Repository;
        var (id, snapshot) = await request.Snapshot.ResolveAsync(repository, cancellationToken);
        var root = await repository.LoadTreeAsync(snapshot.Tree, cancellationToken);
        var held = new List<HeldTable>();
        foreach (var node in root.Nodes.Where(n => n.Database is { } d && (request.Database is null || d.Name == request.Database)))
        {
            if (node.Database!.Engine == "sqlite")
            {
                held.AddRange((node.Database.Tables ?? []).Select(t => new HeldTable(node, t, null)));
            }
            else
            {
                var database = await LoadDatabaseAsync(repository, node, cancellationToken);
                held.AddRange(database.Tables.Select(t => new HeldTable(node, t.Table!, t)));
            }
        }
        if (held.Count == 0)
        {
            throw new ArcaException(ErrorCode.PathNotFound,
                request.Database is null ? $"Snapshot {id.Short} holds no database tables." : $"Snapshot {id.Short} holds no database '{request.Database}'.",
                "Pick a snapshot of a database ('arca snapshots' lists their sources, 'arca ls' their tables).");
        }
        var chosen = new List<HeldTable>();
        foreach (var name in request.Tables.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var matches = held.Where(t => t.Matches(name)).ToList();
            if (matches.Count == 0)
            {
                var names = held.Select(t => t.Info.Engine == "sqlite" ? t.Info.Name : t.Info.QualifiedName).Take(8).ToList();
                throw new ArcaException(ErrorCode.TableNotFound, $"Snapshot {id.Short} holds no table {name}.",
                    $"It holds: {string.Join(", ", names)}{(names.Count == 8 ? ", ..." : "")} (a SQLite FTS5 table comes back with its content table).");
            }
            if (matches.Count > 1 || (chosen.Count > 0 && matches[0].Entry != chosen[0].Entry))
            {
                throw new ArcaException(ErrorCode.Usage, $"The tables named come from several databases of snapshot {id.Short}.",
                    "Say which with --database NAME, and restore one database's tables at a time.");
            }
            if (!chosen.Contains(matches[0]))
            {
                chosen.Add(matches[0]); // named twice (public.orders and orders): restored once
            }
        }
        await session.LockAsync(LockKind.Shared, "restore", cancellationToken);
        var fromSqlite = chosen[0].Info.Engine == "sqlite";
        var options = request.TableOptions;
        if (request.ToSqlite)
        {
            var target = SqliteLocation.Parse(request.To);
            if (fromSqlite)
            {
                return (id, await new SqliteRestore(repository).RestoreTablesAsync(chosen[0].Entry, [.. chosen.Select(t => t.Info)], target, options, request.SqliteTimeout, cancellationToken));
            }
            var foreign = chosen.Select(t => (t.Info, (SqliteRestore.StageFiller)((connection, table, _, ct) =>
                ForeignRows.InsertAsync(connection, table, t.Info, ReadCopyRowsAsync(repository, t.Node!, ct), ct)))).ToList();
            return (id, await SqliteRestore.RestoreForeignTablesAsync(foreign, target, options, request.SqliteTimeout, cancellationToken));
        }
        var postgres = PostgresLocation.Parse(request.To);
        if (!fromSqlite)
        {
            return (id, await new TableRestore(repository).RunAsync(postgres, [.. chosen.Select(t => t.Node!)], options, cancellationToken));
        }
        using var copy = await new SqliteRestore(repository).MaterializeAsync(chosen[0].Entry, [.. chosen.Select(t => t.Info)], cancellationToken);
        var tables = chosen.Select(t => (t.Info, (TableRestore.CopyTextSource)((stream, types, ct) => ForeignRows.WriteCopyTextAsync(copy.Path, t.Info, types, stream, ct)))).ToList();
        return (id, await TableRestore.RunForeignAsync(postgres, tables, options, cancellationToken));
    }

    /// <param name="targetChecked">The target's check (<see cref="DatabaseRestore.CheckTargetAsync"/>), if it was begun early.</param>
    public async Task<(SnapshotId Id, DatabaseRestoreResult Result)> RestoreDatabaseAsync(RepositorySession session, DatabaseRestoreRequest request,
        Task? targetChecked, CancellationToken cancellationToken)
    {
        request.Validate();
        var repository = session.Repository;
        var (id, snapshot) = await request.Snapshot.ResolveAsync(repository, cancellationToken);
        var databases = await FindDatabasesAsync(repository, snapshot, request.Database, cancellationToken);
        await session.LockAsync(LockKind.Shared, "restore", cancellationToken);
        var target = PostgresLocation.Parse(request.To);
        var options = new DatabaseRestoreOptions { Jobs = request.Jobs, ReadBack = request.ReadBack, SplitTables = request.SplitTables };
        var result = await new DatabaseRestore(repository).RunAsync(target, databases[0], options, targetChecked, cancellationToken);
        return (id, result);
    }

    /// <summary>A table a snapshot holds: the database entry it belongs to, its record, and (PostgreSQL) its own entry of rows.</summary>
    private sealed record HeldTable(Node Entry, TableInfo Info, Node? Node)
    {
        /// <summary>Whether the user's name for a table names this one: SCHEMA.TABLE or TABLE (public. or main. assumed).</summary>
        public bool Matches(string name)
        {
            if (Info.Engine == "sqlite")
            {
                return string.Equals(SqliteRestore.TableNameOf(name), Info.Name, StringComparison.OrdinalIgnoreCase);
            }
            var parsed = TableName.Parse(name);
            return parsed.Schema == Info.Schema && parsed.Name == Info.Name;
        }
    }

    private static async IAsyncEnumerable<List<byte[]?>> ReadCopyRowsAsync(Repository repository, Node node,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new CopyTextReader(TableRows.Open(repository, node));
        while (await reader.ReadRowAsync(cancellationToken) is { } row)
        {
            yield return row;
        }
    }

    /// <summary>
    /// Restores the whole SQLite database file <paramref name="name"/> of a snapshot to <paramref name="target"/>, replacing
    /// an existing file only when <paramref name="replace"/> says so.
    /// </summary>
    public async Task<(SnapshotId Id, SqliteFileRestoreResult Result)> RestoreSqliteFileAsync(RepositorySession session, SnapshotSelector selector, string name,
        string target, bool replace, CancellationToken cancellationToken)
    {
        var repository = session.Repository;
        var (id, snapshot) = await selector.ResolveAsync(repository, cancellationToken);
        var root = await repository.LoadTreeAsync(snapshot.Tree, cancellationToken);
        var entry = root.Nodes.FirstOrDefault(n => n.Database is { Engine: "sqlite" } && n.Name == name);
        if (entry is null)
        {
            var held = root.Nodes.Where(n => n.Database is { Engine: "sqlite" }).Select(n => n.Name).ToList();
            throw new ArcaException(ErrorCode.PathNotFound, $"Snapshot {id.Short} holds no SQLite database '{name}'.",
                held.Count == 0 ? "It holds none: pick a snapshot of a SQLite database ('arca snapshots' lists their sources)." : $"It holds: {string.Join(", ", held)}.");
        }
        await session.LockAsync(LockKind.Shared, "restore", cancellationToken);
        return (id, await new SqliteRestore(repository).RestoreFileAsync(entry, target, replace, cancellationToken));
    }

    /// <summary>The snapshot's databases (only the named one, if a name is given), with their parts.</summary>
    public static async Task<List<DatabaseEntry>> FindDatabasesAsync(Repository repository, Snapshot snapshot, string? name, CancellationToken cancellationToken)
    {
        var root = await repository.LoadTreeAsync(snapshot.Tree, cancellationToken);
        var entries = root.Nodes.Where(n => n.Database is { Engine: "postgresql" } && (name is null || n.Database.Name == name)).ToList();
        if (entries.Count == 0)
        {
            var held = root.Nodes.Where(n => n.Database is { Engine: "postgresql" }).Select(n => n.Database!.Name).ToList();
            throw new ArcaException(ErrorCode.PathNotFound,
                name is null ? "The snapshot holds no database." : $"The snapshot holds no database '{name}'.",
                held.Count == 0 ? "Pick a snapshot of a database ('arca snapshots' lists their sources)." : $"It holds: {string.Join(", ", held)}.");
        }
        var result = new List<DatabaseEntry>();
        foreach (var entry in entries)
        {
            result.Add(await LoadDatabaseAsync(repository, entry, cancellationToken));
        }
        return result;
    }

    /// <summary>A PostgreSQL database entry's parts: its schema files and its tables.</summary>
    private static async Task<DatabaseEntry> LoadDatabaseAsync(Repository repository, Node entry, CancellationToken cancellationToken)
    {
        var tree = await repository.LoadTreeAsync(entry.Subtree!.Value, cancellationToken);
        var tablesNode = tree.Find("tables");
        var tables = tablesNode?.Subtree is { } t ? (await repository.LoadTreeAsync(t, cancellationToken)).Nodes.Where(n => n.Table is not null).ToList() : [];
        var pre = tree.Find("pre-data.sql") ?? throw new InvalidDataException($"The database entry {entry.Name} lacks pre-data.sql.");
        var post = tree.Find("post-data.sql") ?? throw new InvalidDataException($"The database entry {entry.Name} lacks post-data.sql.");
        return new DatabaseEntry(entry, pre, post, tables);
    }
}
