using Arca.Backup;
using Arca.Repo;
using Arca.Sources.Command;
using Arca.Sources.Env;
using Arca.Sources.Files;
using Arca.Sources.Postgres;
using Arca.Sources.Sqlite;
using Arca.Trees;

namespace Arca.Operations;

public sealed record BackupRequest
{
    public required IReadOnlyList<string> Paths { get; init; }
    public IReadOnlyList<string> Excludes { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Host { get; init; }
    /// <summary>How to read the databases among <see cref="Paths"/> (postgresql:// URLs).</summary>
    public PostgresBackupOptions Postgres { get; init; } = new();
    /// <summary>How to read the SQLite databases among <see cref="Paths"/> (sqlite:PATH).</summary>
    public SqliteBackupOptions Sqlite { get; init; } = new();
    /// <summary>--stdin or --stdin-from-command: one more root entry, a file made of a stream (see <see cref="ProcessSources"/>).</summary>
    public StdinOptions Stdin { get; init; } = new();
    /// <summary>The environment that the env:PATTERN sources among <see cref="Paths"/> read.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentVariables { get; init; } = new Dictionary<string, string>();

    /// <summary>The file paths among <see cref="Paths"/>; the rest are databases (postgresql:// URLs, sqlite:PATH) and env:PATTERN sources.</summary>
    public IEnumerable<string> FilePaths => Paths.Where(p => !PostgresLocation.IsPostgresUrl(p) && !SqliteLocation.IsSqliteSource(p) && !EnvPattern.IsEnvSource(p));

    public IEnumerable<PostgresLocation> Databases => Paths.Where(PostgresLocation.IsPostgresUrl).Select(PostgresLocation.Parse);

    public IEnumerable<SqliteLocation> SqliteDatabases => Paths.Where(SqliteLocation.IsSqliteSource).Select(SqliteLocation.Parse);

    /// <summary>The names the file and database sources take at the snapshot's root.</summary>
    internal IEnumerable<string> SourceEntryNames => FilePaths.Select(p => Archiver.RootName(Path.GetFullPath(p)))
        .Concat(Databases.Select(d => PostgresBackup.EntryName(d.Database)))
        .Concat(SqliteDatabases.Select(d => d.EntryName));

    public void Validate()
    {
        Stdin.Validate();
        if (Paths.Count == 0 && !Stdin.Enabled)
        {
            throw new ArcaException(ErrorCode.Usage, "No path to back up was given.", "Name one or more files or folders: arca backup PATH...");
        }
        foreach (var path in FilePaths)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full) && !Directory.Exists(full) && new FileInfo(full).LinkTarget is null)
            {
                throw new ArcaException(ErrorCode.PathNotFound, $"The path '{path}' does not exist.", "Check the spelling, or mount what should be there.");
            }
        }
        var databases = Databases.ToList();
        var usesDatabaseOptions = Postgres.Tables.Count + Postgres.Filters.Count + Postgres.ExcludedColumns.Count > 0;
        if (usesDatabaseOptions && databases.Count != 1)
        {
            throw new ArcaException(ErrorCode.Usage, "--table, --where and --exclude-column need exactly one postgresql:// source to apply to.",
                "Back up one database per command when choosing its tables.");
        }
        var names = SourceEntryNames.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (names is not null)
        {
            throw new ArcaException(ErrorCode.Usage, $"Two paths to back up share the name '{names.Key}', and a snapshot keeps each path by its last component.",
                "Back them up in separate snapshots, or back up their common parent folder.");
        }
        if (Sqlite.Timeout < TimeSpan.Zero)
        {
            throw new ArcaException(ErrorCode.Usage, $"--sqlite-timeout {Sqlite.Timeout.TotalSeconds} is negative.", "Give the seconds to wait for a SQLite writer's lock, e.g. --sqlite-timeout 30.");
        }
        ProcessSources.Validate(this);
        foreach (var tag in Tags)
        {
            if (string.IsNullOrWhiteSpace(tag) || tag.Contains(','))
            {
                throw new ArcaException(ErrorCode.Usage, $"The tag '{tag}' is empty or holds a comma.", "Use tags like 'daily' or 'before-migration'.");
            }
        }
    }
}

public sealed record BackupResult(SnapshotId Id, Snapshot Snapshot, SnapshotId? Parent, IReadOnlyList<DatabaseBackup> Databases)
{
    /// <summary>What --stdin, --stdin-from-command and env: sources added.</summary>
    public ProcessSourcesBackup? Process { get; init; }
}

/// <summary>What one database of a backup held.</summary>
public sealed record DatabaseBackup(string Source, int Tables, long Rows, long Bytes, IReadOnlyList<string> Warnings);

/// <summary>
/// Backs up paths into a new snapshot: finds the parent (the newest snapshot of the same host and
/// paths), archives, uploads every pack and index file, and only then writes the snapshot. Interrupted
/// at any point, it leaves no snapshot, only packs that prune removes.
/// </summary>
public sealed class BackupOperation(TimeProvider time)
{
    /// <param name="early">The database side begun while the repository opened (<see cref="EarlyDatabase.Begin"/>), if it was.</param>
    public async Task<BackupResult> RunAsync(RepositorySession session, BackupRequest request, IBackupProgress progress, EarlyDatabase? early,
        CancellationToken cancellationToken)
    {
        request.Validate();
        var repository = session.Repository;
        var filePaths = request.FilePaths.Select(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))).ToList();
        var databases = request.Databases.ToList();
        var sqliteDatabases = request.SqliteDatabases.ToList();
        var paths = filePaths.Concat(databases.Select(d => d.Display)).Concat(sqliteDatabases.Select(d => d.Display)).Concat(ProcessSources.SnapshotPaths(request))
            .OrderBy(p => p, StringComparer.Ordinal).ToList();
        var host = string.IsNullOrWhiteSpace(request.Host) ? Environment.MachineName : request.Host;
        var excludes = request.Excludes.Select(e => new Glob(e)).ToList();
        var start = time.GetUtcNow();

        var parent = (await repository.LoadAllSnapshotsAsync(cancellationToken))
            .Where(s => s.Snapshot.Hostname == host && s.Snapshot.Paths.SequenceEqual(paths))
            .Select(s => ((SnapshotId Id, Snapshot Snapshot)?)s)
            .LastOrDefault();
        Tree? parentRoot = null;
        if (parent is { } p)
        {
            parentRoot = await repository.LoadTreeAsync(p.Snapshot.Tree, cancellationToken);
        }

        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Lock?.Lost ?? CancellationToken.None);
        // First: a failing command fails the backup before the files are read.
        var process = await ProcessSources.RunAsync(repository, time, request, lost.Token);
        var archiver = new Archiver(repository, repository, repository.Chunker, new ArchiverOptions { Excludes = excludes }, progress);
        var entries = await archiver.ArchiveEntriesAsync(filePaths, parentRoot, lost.Token);
        var databaseResults = new List<DatabaseBackup>();
        foreach (var database in databases)
        {
            var parentEntry = parentRoot?.Find(PostgresBackup.EntryName(database.Database));
            await using var read = early?.Take(database) is { } begun ? await begun : await DatabaseRead.BeginAsync(database, request.Postgres, time, lost.Token);
            var result = await new PostgresBackup(repository, repository, repository, repository.Chunker).RunAsync(read, parentEntry, lost.Token);
            entries.Add(result.Entry);
            databaseResults.Add(new DatabaseBackup(database.Display, result.Tables, result.Rows, result.Bytes, result.Warnings));
        }
        foreach (var database in sqliteDatabases)
        {
            var result = await new SqliteBackup(repository).RunAsync(database, request.Sqlite, lost.Token);
            entries.Add(result.Entry);
            databaseResults.Add(new DatabaseBackup(database.Display, result.Tables, result.Rows, result.Bytes, []));
        }
        entries.AddRange(process.Entries);
        var root = await archiver.SaveRootAsync(entries, lost.Token);
        await repository.FlushAsync(lost.Token);
        var snapshot = new Snapshot
        {
            Time = start,
            Tree = root,
            Paths = paths,
            Hostname = host,
            Username = Environment.UserName,
            Tags = request.Tags,
            Parent = parent?.Id,
            ProgramVersion = ProgramInfo.Version,
            Summary = archiver.Summary(start, time.GetUtcNow(), repository.AddedSoFar) is var summary
                ? summary with { TotalBytes = summary.TotalBytes + databaseResults.Sum(d => d.Bytes) + process.Bytes }
                : null,
        };
        var id = await repository.SaveSnapshotAsync(snapshot, lost.Token);
        return new BackupResult(id, snapshot, parent?.Id, databaseResults) { Process = process };
    }
}

/// <summary>
/// The first database of a backup of databases only, opened (<see cref="DatabaseRead.BeginAsync"/>) while the
/// repository opens: connecting, exporting the snapshot, reading the catalog and scanning the largest tables' keys
/// need no repository. Not done when the backup also reads files, a command or SQLite: the database's transaction
/// would then stay open while those are read.
/// </summary>
public sealed class EarlyDatabase : IAsyncDisposable
{
    private readonly PostgresLocation? _location;
    private readonly CancellationTokenSource? _stop;
    private Task<DatabaseRead>? _read;

    private EarlyDatabase(PostgresLocation? location, CancellationTokenSource? stop, Task<DatabaseRead>? read)
    {
        _location = location;
        _stop = stop;
        _read = read;
    }

    public static EarlyDatabase Begin(BackupRequest request, TimeProvider time, CancellationToken cancellationToken)
    {
        if (request.Stdin.Enabled || request.Paths.Count == 0 || !request.Paths.All(PostgresLocation.IsPostgresUrl))
        {
            return new EarlyDatabase(null, null, null);
        }
        var first = request.Databases.First();
        // Its own stop: a read never taken (the repository did not open) is stopped, not waited for (a server slow
        // to answer must not hold back the repository's error).
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        return new EarlyDatabase(first, stop, DatabaseRead.BeginAsync(first, request.Postgres, time, stop.Token));
    }

    /// <summary>The read begun for <paramref name="database"/>, handed over once (its caller disposes it), or null.</summary>
    internal Task<DatabaseRead>? Take(PostgresLocation database)
    {
        if (_read is null || _location != database)
        {
            return null;
        }
        var read = _read;
        _read = null;
        return read;
    }

    /// <summary>Stops and ends a read that was never taken: its errors no longer matter.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_read is { } read)
        {
            _read = null;
            await _stop!.CancelAsync();
            try
            {
                await (await read).DisposeAsync();
            }
            catch (Exception)
            {
            }
        }
        _stop?.Dispose();
    }
}
