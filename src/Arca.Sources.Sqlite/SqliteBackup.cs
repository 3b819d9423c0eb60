using Arca.Backup;
using Arca.Repo;
using Arca.Repo.Chunking;
using Arca.Storage;
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

    /// <summary>
    /// zstd level 1 for pages, as for PostgreSQL's rows: about twice as fast as level 3, which kept the backup's cores
    /// busiest, for a slightly larger repository.
    /// </summary>
    private const int PageCompressionLevel = 1;

    public async Task<SqliteBackupResult> RunAsync(SqliteLocation location, SqliteBackupOptions options, CancellationToken cancellationToken)
    {
        var pageSize = SqliteFile.CheckHeader(location.Path, location.Display);
        using var copy = TemporaryDatabase.Create();
        try
        {
            // Opened before the connection and closed after it: on POSIX, closing any descriptor of a file drops every lock
            // the process holds on it, so closing this one while SQLite's read lock is needed would let writers in.
            await using var live = new FileStream(location.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
            await using var source = SqliteFile.Open(location.Path, SqliteOpenMode.ReadOnly, options.Timeout);
            // The read transaction waits (up to the timeout) for a writer holding the file, then pins one state.
            using var transaction = source.BeginTransaction(deferred: true);
            SqliteFile.Scalar(source, "SELECT count(*) FROM sqlite_schema");
            var journalMode = (string)SqliteFile.Scalar(source, "PRAGMA journal_mode")!;
            var version = source.ServerVersion;
            // In WAL mode the state is the file plus part of the WAL, and checkpoints may rewrite the file meanwhile: the
            // backup API copies it out, and the lock goes. In rollback-journal mode nobody can write the file while the
            // read lock is held, so its pages are read in place, sparing a copy of the whole file (writers wait longer).
            FileStream? copied = null;
            long length;
            SqliteConnection manifestConnection;
            if (journalMode == "wal")
            {
                await Task.Run(() =>
                {
                    using var destination = SqliteFile.Open(copy.Path, SqliteOpenMode.ReadWriteCreate, options.Timeout);
                    // A throwaway file: no journal, no flush to disk (both cost as much as the copy itself).
                    SqliteFile.Execute(destination, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF");
                    source.BackupDatabase(destination);
                }, cancellationToken);
                transaction.Commit();
                copied = new FileStream(copy.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
                length = copied.Length;
                manifestConnection = SqliteFile.Open(copy.Path, SqliteOpenMode.ReadOnly, TimeSpan.FromSeconds(1));
            }
            else
            {
                length = Convert.ToInt64(SqliteFile.Scalar(source, "PRAGMA page_count"), System.Globalization.CultureInfo.InvariantCulture) * pageSize;
                manifestConnection = source;
            }
            var stat = new FileInfo(location.Path);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var manifest = ReadManifestAsync(manifestConnection, manifestConnection == source ? location.Path : copy.Path, location, stop.Token);
            SavedContent saved;
            try
            {
                await using var pages = new PrefixStream(copied ?? live, length);
                saved = await new ContentSaver(saver, Chunker.FixedSize(Math.Max(ChunkSize, pageSize)), PageCompressionLevel, hashStream: false)
                    .SaveAsync(pages, null, stop.Token);
            }
            catch
            {
                await stop.CancelAsync();
                throw;
            }
            finally
            {
                // The manifest's reader holds the connection: it ends before the connection closes, whatever happened here.
                await Task.WhenAny(manifest);
                if (manifestConnection != source)
                {
                    await manifestConnection.DisposeAsync();
                }
                if (copied is not null)
                {
                    await copied.DisposeAsync();
                }
            }
            var (tables, schema) = await manifest;
            if (saved.Size != length)
            {
                throw new ArcaException(ErrorCode.DatabaseCorrupt, $"{location.Display} is shorter than its own header says ({saved.Size:N0} of {length:N0} bytes); nothing was recorded from it.",
                    "Recover it first (sqlite3 DB .recover), or restore it from an earlier snapshot.");
            }
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
    }

    /// <summary>
    /// Checks the state <paramref name="connection"/> reads (quick_check), and counts and hashes every table in it. The check
    /// runs on a second connection to <paramref name="path"/> alongside the hashing when that connection can read at once:
    /// in rollback-journal mode a writer waiting for its exclusive lock keeps new readers out, and waiting for it there
    /// while the first connection keeps it waiting would deadlock, so then the check runs after the hashing, on the first.
    /// </summary>
    private static async Task<(List<TableInfo> Tables, string Schema)> ReadManifestAsync(SqliteConnection connection, string path, SqliteLocation location,
        CancellationToken cancellationToken)
    {
        SqliteConnection? second = null;
        SqliteTransaction? secondTransaction = null;
        try
        {
            second = SqliteFile.Open(path, SqliteOpenMode.ReadOnly, TimeSpan.Zero);
            secondTransaction = second.BeginTransaction(deferred: true);
            SqliteFile.Scalar(second, "SELECT count(*) FROM sqlite_schema");
        }
        catch (SqliteException)
        {
            secondTransaction?.Dispose();
            second?.Dispose();
            second = null;
        }
        try
        {
            var check = second is null ? null : Task.Run(() => QuickCheck(second, location), cancellationToken);
            var manifest = await Task.Run(() => HashTables(connection, cancellationToken), cancellationToken);
            if (check is null)
            {
                QuickCheck(connection, location);
            }
            else
            {
                await check;
            }
            return manifest;
        }
        finally
        {
            secondTransaction?.Dispose();
            second?.Dispose();
        }
    }

    private static void QuickCheck(SqliteConnection connection, SqliteLocation location)
    {
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
    }

    private static (List<TableInfo> Tables, string Schema) HashTables(SqliteConnection connection, CancellationToken cancellationToken)
    {
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

/// <summary>The first <c>length</c> bytes of a stream: a database file's pages, without whatever lies past them.</summary>
internal sealed class PrefixStream(Stream inner, long length) : ReadOnlyStream
{
    private readonly long _length = length;
    private long _left = length;

    public override long Length => _length;
    public override long Position { get => _length - _left; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
        _left -= read;
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken);
        _left -= read;
        return read;
    }
}
