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
    /// <summary>For a SQLite target: how long to wait for another connection's lock.</summary>
    public TimeSpan SqliteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public bool ToSqlite => SqliteLocation.IsSqliteSource(To);

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
    }
}

/// <summary>Finds a snapshot's databases and tables, and restores them into live databases.</summary>
public sealed class DatabaseRestoreOperation
{
    public async Task<(SnapshotId Id, List<TableRestoreResult> Results)> RestoreTablesAsync(RepositorySession session, DatabaseRestoreRequest request,
        CancellationToken cancellationToken)
    {
        request.Validate();
        var repository = session.Repository;
        var (id, snapshot) = await request.Snapshot.ResolveAsync(repository, cancellationToken);
        if (request.ToSqlite)
        {
            return (id, await RestoreSqliteTablesAsync(session, id, snapshot, request, cancellationToken));
        }
        var databases = await FindDatabasesAsync(repository, snapshot, request.Database, cancellationToken);
        var names = request.Tables.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(TableName.Parse).ToList();
        var chosen = new List<Node>();
        foreach (var name in names)
        {
            var matches = databases.SelectMany(d => d.Tables).Where(t => t.Table!.Schema == name.Schema && t.Table.Name == name.Name).ToList();
            if (matches.Count == 0)
            {
                var held = databases.SelectMany(d => d.Tables).Select(t => t.Table!.QualifiedName).Take(8).ToList();
                throw new ArcaException(ErrorCode.TableNotFound, $"Snapshot {id.Short} holds no table {name}.",
                    held.Count == 0 ? "It holds no tables at all: check the snapshot with 'arca ls'." : $"It holds: {string.Join(", ", held)}{(held.Count == 8 ? ", ..." : "")}.");
            }
            if (matches.Count > 1)
            {
                throw new ArcaException(ErrorCode.Usage, $"Snapshot {id.Short} holds {name} in several databases.", "Say which with --database NAME.");
            }
            chosen.Add(matches[0]);
        }
        await session.LockAsync(LockKind.Shared, "restore", cancellationToken);
        var target = PostgresLocation.Parse(request.To);
        var results = await new TableRestore(repository).RunAsync(target, chosen, request.TableOptions, cancellationToken);
        return (id, results);
    }

    public async Task<(SnapshotId Id, DatabaseRestoreResult Result)> RestoreDatabaseAsync(RepositorySession session, DatabaseRestoreRequest request,
        CancellationToken cancellationToken)
    {
        request.Validate();
        var repository = session.Repository;
        var (id, snapshot) = await request.Snapshot.ResolveAsync(repository, cancellationToken);
        var databases = await FindDatabasesAsync(repository, snapshot, request.Database, cancellationToken);
        await session.LockAsync(LockKind.Shared, "restore", cancellationToken);
        var target = PostgresLocation.Parse(request.To);
        var result = await new DatabaseRestore(repository).RunAsync(target, databases[0], request.Jobs, cancellationToken);
        return (id, result);
    }

    private static async Task<List<TableRestoreResult>> RestoreSqliteTablesAsync(RepositorySession session, SnapshotId id, Snapshot snapshot,
        DatabaseRestoreRequest request, CancellationToken cancellationToken)
    {
        var repository = session.Repository;
        var root = await repository.LoadTreeAsync(snapshot.Tree, cancellationToken);
        var files = root.Nodes.Where(n => n.Database is { Engine: "sqlite" } d && (request.Database is null || d.Name == request.Database)).ToList();
        if (files.Count == 0)
        {
            throw new ArcaException(ErrorCode.PathNotFound,
                request.Database is null ? $"Snapshot {id.Short} holds no SQLite database." : $"Snapshot {id.Short} holds no SQLite database '{request.Database}'.",
                "Pick a snapshot of a SQLite database ('arca snapshots' lists their sources, 'arca ls' their tables).");
        }
        var names = request.Tables.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(SqliteRestore.TableNameOf).ToList();
        var chosen = new List<TableInfo>();
        Node? file = null;
        foreach (var name in names)
        {
            var matches = files.SelectMany(f => (f.Database!.Tables ?? []).Where(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase)).Select(t => (File: f, Table: t))).ToList();
            if (matches.Count == 0)
            {
                var held = files.SelectMany(f => f.Database!.Tables ?? []).Select(t => t.Name).Take(8).ToList();
                throw new ArcaException(ErrorCode.TableNotFound, $"Snapshot {id.Short} holds no table {name} in its SQLite databases.",
                    held.Count == 0 ? "They hold no tables at all: check the snapshot with 'arca ls'." : $"They hold: {string.Join(", ", held)}{(held.Count == 8 ? ", ..." : "")} (FTS5 tables come back with their content tables).");
            }
            if (matches.Count > 1 || (file is not null && matches[0].File != file))
            {
                throw new ArcaException(ErrorCode.Usage, $"The tables named come from several SQLite databases of snapshot {id.Short}.", "Say which with --database NAME (its file name), one database per restore.");
            }
            file = matches[0].File;
            chosen.Add(matches[0].Table);
        }
        await session.LockAsync(LockKind.Shared, "restore", cancellationToken);
        return await new SqliteRestore(repository).RestoreTablesAsync(file!, chosen, SqliteLocation.Parse(request.To), request.TableOptions, request.SqliteTimeout, cancellationToken);
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
            var tree = await repository.LoadTreeAsync(entry.Subtree!.Value, cancellationToken);
            var tablesNode = tree.Find("tables");
            var tables = tablesNode?.Subtree is { } t ? (await repository.LoadTreeAsync(t, cancellationToken)).Nodes.Where(n => n.Table is not null).ToList() : [];
            var pre = tree.Find("pre-data.sql") ?? throw new InvalidDataException($"The database entry {entry.Name} lacks pre-data.sql.");
            var post = tree.Find("post-data.sql") ?? throw new InvalidDataException($"The database entry {entry.Name} lacks post-data.sql.");
            result.Add(new DatabaseEntry(entry, pre, post, tables));
        }
        return result;
    }
}
