using Arca.Backup;
using Arca.Repo;
using Arca.Repo.Chunking;
using Arca.Trees;
using Microsoft.Data.Sqlite;

namespace Arca.Sources.Sqlite;

public sealed record SqliteBackupOptions
{
    /// <summary>How long to wait for a writer's lock before giving up.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>What one SQLite database of a backup became: its entry, and what it held.</summary>
public sealed record SqliteBackupResult(Node Entry, int Tables, long Rows, long Bytes);

/// <summary>
/// Backs up a SQLite database, possibly in WAL mode and in use by a writer. A read transaction on the live file
/// pins one consistent state; SQLite's online backup API copies its pages into a temporary file, and the lock is
/// let go. The copy is then checked (quick_check) and its tables counted and hashed on one core, while its pages
/// are chunked, compressed and stored on the others. The entry is the database file itself (pages dedupe across
/// snapshots, in page-aligned chunks), marked with a manifest of its schema and tables.
/// </summary>
public sealed class SqliteBackup(IBlobSaver saver)
{
    /// <summary>
    /// Chunks of a database file: 16 KiB (4 pages of 4 KiB), cut at page boundaries. A change rewrites pages in
    /// place, so only the chunks holding changed pages are new. On the benchmark's database, typical OLTP writes
    /// touched pages covering 6% of the file in 4 KiB blocks, 10% in 16 KiB blocks and 14% in 64 KiB ones; smaller
    /// chunks save more of a scattered change but cost an index entry, a pack header entry and a content-list entry
    /// each, and compress a little worse.
    /// </summary>
    public const int ChunkSize = 16 * 1024;

    public async Task<SqliteBackupResult> RunAsync(SqliteLocation location, SqliteBackupOptions options, CancellationToken cancellationToken)
    {
        var pageSize = SqliteFile.CheckHeader(location.Path, location.Display);
        var copy = Path.Combine(Path.GetTempPath(), $"arca-sqlite-{Guid.NewGuid():N}.db");
        try
        {
            var (journalMode, version) = await Task.Run(() => Copy(location, copy, options.Timeout), cancellationToken);
            var stat = new FileInfo(location.Path);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var manifest = Task.Run(() => ReadManifest(copy, location, stop.Token), stop.Token);
            SavedContent saved;
            try
            {
                await using var file = new FileStream(copy, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
                saved = await new ContentSaver(saver, Chunker.FixedSize(Math.Max(ChunkSize, pageSize))).SaveAsync(file, null, stop.Token);
            }
            catch
            {
                await stop.CancelAsync();
                throw;
            }
            finally
            {
                // The manifest's reader holds the copy open: it ends before the copy is deleted, whatever happened here.
                await Task.WhenAny(manifest);
            }
            var (tables, schema) = await manifest;
            var timeNs = new DateTimeOffset(stat.LastWriteTimeUtc).ToUnixTimeMilliseconds() * 1_000_000;
            var entry = new Node
            {
                Name = location.EntryName,
                Type = NodeType.File,
                Mode = (uint)File.GetUnixFileMode(location.Path),
                Size = saved.Size,
                ModifyTimeNs = timeNs,
                ChangeTimeNs = timeNs,
                Content = saved.Content,
                Database = new DatabaseInfo
                {
                    Engine = "sqlite",
                    Name = location.EntryName,
                    Source = location.Display,
                    ServerVersion = version,
                    Tables = tables,
                    Schema = schema,
                    JournalMode = journalMode,
                },
            };
            return new SqliteBackupResult(entry, tables.Count, tables.Sum(t => t.Rows), saved.Size);
        }
        catch (SqliteException ex) when (SqliteFile.Translate(ex, location.Display, options.Timeout) is { } error)
        {
            throw error;
        }
        finally
        {
            File.Delete(copy);
        }
    }

    /// <summary>Copies one consistent state of the database into <paramref name="copy"/>; returns its journal mode and SQLite's version.</summary>
    private static (string JournalMode, string Version) Copy(SqliteLocation location, string copy, TimeSpan timeout)
    {
        using var source = SqliteFile.Open(location.Path, SqliteOpenMode.ReadOnly, timeout);
        // The read transaction waits (up to the timeout) for a writer holding the file, then pins the state the copy takes.
        using var transaction = source.BeginTransaction(deferred: true);
        SqliteFile.Scalar(source, "SELECT count(*) FROM sqlite_schema");
        var journalMode = (string)SqliteFile.Scalar(source, "PRAGMA journal_mode")!;
        using (var destination = SqliteFile.Open(copy, SqliteOpenMode.ReadWriteCreate, timeout))
        {
            source.BackupDatabase(destination);
        }
        return (journalMode, source.ServerVersion);
    }

    private static (List<TableInfo> Tables, string Schema) ReadManifest(string copy, SqliteLocation location, CancellationToken cancellationToken)
    {
        using var connection = SqliteFile.Open(copy, SqliteOpenMode.ReadOnly, TimeSpan.FromSeconds(1));
        var problems = new List<string>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA quick_check(5)";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                // One row may hold several lines, headed by "*** in database main ***": one problem a line, without the heading.
                problems.AddRange(reader.GetString(0).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Where(line => !line.StartsWith("***", StringComparison.Ordinal)));
            }
        }
        if (problems is not ["ok"])
        {
            var more = problems.Count > 1 ? $", and {problems.Count - 1} more" : "";
            throw new ArcaException(ErrorCode.DatabaseCorrupt,
                $"{location.Display} is corrupt (SQLite's check: '{problems.FirstOrDefault()}'{more}); nothing was recorded from it.",
                "Recover it first (sqlite3 DB .recover), or restore it from an earlier snapshot.");
        }
        var tables = new List<TableInfo>();
        foreach (var table in SqliteCatalog.Tables(connection))
        {
            var (rows, checksum) = RowChecksum.Compute(connection, "main", table.Name, [.. table.Columns.Select(c => c.Name)], cancellationToken);
            tables.Add(new TableInfo
            {
                Engine = "sqlite",
                Schema = "main",
                Name = table.Name,
                Columns = table.Columns,
                Key = table.Key,
                Format = SqliteTableFormat,
                Rows = rows,
                Checksum = checksum,
                References = table.References.Count == 0 ? null : table.References,
            });
        }
        return (tables, SqliteCatalog.Schema(connection));
    }

    /// <summary>The <see cref="TableInfo.Format"/> of a SQLite table: its rows are in the database file.</summary>
    public const string SqliteTableFormat = "sqlite-file";
}
