using System.Buffers.Binary;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Arca.Sources.Sqlite;

/// <summary>Opening SQLite files, and turning SQLite's errors into Arca's.</summary>
internal static class SqliteFile
{
    private static readonly byte[] Magic = "SQLite format 3\0"u8.ToArray();

    // SQLite's primary result codes (sqlite3.h).
    private const int Busy = 5, Locked = 6, Corrupt = 11, CantOpen = 14, NotADatabase = 26;
    public const int Constraint = 19;

    /// <summary>
    /// Checks that <paramref name="path"/> is a SQLite database file before SQLite sees it (SQLite would take an
    /// empty file for an empty database); returns its page size.
    /// </summary>
    public static int CheckHeader(string path, string display)
    {
        if (Directory.Exists(path))
        {
            throw new ArcaException(ErrorCode.NotSqlite, $"{display} is a folder, not a SQLite database file.", "Name the database file itself: sqlite:PATH/app.db.");
        }
        if (!File.Exists(path))
        {
            throw new ArcaException(ErrorCode.PathNotFound, $"The SQLite database {display} does not exist.", "Check the path.");
        }
        Span<byte> header = stackalloc byte[100];
        int read;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }
        if (read < header.Length || !header[..Magic.Length].SequenceEqual(Magic))
        {
            throw new ArcaException(ErrorCode.NotSqlite,
                read == 0 ? $"{display} is empty, not a SQLite database." : $"{display} is not a SQLite database (it lacks SQLite's file header).",
                "Check the path: it must name the database file the application opens.");
        }
        var pageSize = BinaryPrimitives.ReadUInt16BigEndian(header[16..]);
        return pageSize == 1 ? 65536 : pageSize;
    }

    static SqliteFile()
    {
        // SQLite as bundled is built serialized: every call of its API, down to reading one value of a row, takes and
        // releases the connection's mutex, which was a tenth of a table checksum's time. Arca uses each connection on
        // one thread at a time (as Microsoft.Data.Sqlite requires anyway), which is SQLite's multi-thread mode. The
        // mode can be set only before SQLite initializes, so here, before Arca's first connection; if something
        // initialized SQLite earlier in this process, the call is refused and the serialized mode stays, which is
        // merely slower.
        Batteries_V2.Init();
        raw.sqlite3_config(raw.SQLITE_CONFIG_MULTITHREAD);
    }

    /// <summary>Opens a connection; <paramref name="timeout"/> is how long a statement waits for another connection's lock.</summary>
    public static SqliteConnection Open(string path, SqliteOpenMode mode, TimeSpan timeout)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)),
        };
        var connection = new SqliteConnection(builder.ConnectionString);
        connection.Open();
        Execute(connection, $"PRAGMA busy_timeout = {(long)timeout.TotalMilliseconds}");
        return connection;
    }

    /// <summary>The files SQLite may keep beside a database file: its rollback journal, its WAL and the WAL's shared memory.</summary>
    public static readonly string[] CompanionSuffixes = ["-journal", "-wal", "-shm"];

    /// <summary>Deletes a database file and its companions (<see cref="CompanionSuffixes"/>); missing ones are fine.</summary>
    public static void DeleteWithCompanions(string path)
    {
        File.Delete(path);
        foreach (var suffix in CompanionSuffixes)
        {
            File.Delete(path + suffix);
        }
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static string Ident(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>SQLite's own words for a failure, without Microsoft.Data.Sqlite's wrapping ("SQLite Error 19: 'FOREIGN KEY constraint failed'.").</summary>
    public static string Words(SqliteException ex)
    {
        var line = ex.Message.Split('\n')[0];
        var start = line.IndexOf('\'', StringComparison.Ordinal);
        var end = line.LastIndexOf('\'');
        return start >= 0 && end > start ? line[(start + 1)..end] : line;
    }

    /// <summary>Arca's error for a SQLite failure, or null when it is not one of the user-facing kinds.</summary>
    public static ArcaException? Translate(SqliteException ex, string display, TimeSpan timeout) => ex.SqliteErrorCode switch
    {
        Busy or Locked => new ArcaException(ErrorCode.DatabaseBusy,
            $"{display} stayed locked by another connection for {timeout.TotalSeconds:0.#} s.",
            "Retry when the writer is done, or wait longer with --sqlite-timeout SECONDS.", ex),
        Corrupt => new ArcaException(ErrorCode.DatabaseCorrupt,
            $"{display} is corrupt (SQLite: '{Words(ex)}'); nothing was recorded from it.",
            "Recover it first (sqlite3 DB .recover), or restore it from an earlier snapshot.", ex),
        NotADatabase => new ArcaException(ErrorCode.NotSqlite, $"{display} is not a SQLite database (SQLite says: file is not a database).",
            "Check the path: it must name the database file the application opens.", ex),
        CantOpen => new ArcaException(ErrorCode.PathNotFound, $"SQLite could not open {display}.",
            "Check that the file and its folder exist and are readable (and writable, for a restore into it).", ex),
        _ => null,
    };
}
