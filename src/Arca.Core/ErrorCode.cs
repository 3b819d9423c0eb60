namespace Arca;

/// <summary>Stable codes for user-facing errors; the CLI maps each to one exit code (docs/exit-codes.md).</summary>
public enum ErrorCode
{
    Usage,
    RepositoryNotFound,
    RepositoryExists,
    RepositoryLocked,
    WrongPassword,
    UnsupportedFormat,
    RepositoryDamaged,
    SnapshotNotFound,
    AmbiguousSnapshot,
    PathNotFound,
    Partial,
    Storage,
    /// <summary>Nothing answers at the database server's address, or it stopped answering.</summary>
    DatabaseUnreachable,
    /// <summary>The database server refused the login (wrong password, unknown role, no password given).</summary>
    DatabaseLoginFailed,
    DatabaseNotFound,
    TableNotFound,
    /// <summary>A row filter (<c>--where</c>) does not parse or names a column that is not there.</summary>
    InvalidFilter,
    /// <summary>A row filter tried to write; it runs read-only, so nothing was written.</summary>
    FilterWrites,
    /// <summary>A live table's columns no longer match the snapshot's (names or types).</summary>
    TableMismatch,
    /// <summary>A whole-database restore was pointed at a database that holds tables already.</summary>
    DatabaseNotEmpty,
    /// <summary>The database server reported an error not covered above; the message is the server's.</summary>
    DatabaseFailed,
    /// <summary>An external tool Arca runs (pg_dump, psql) is missing or too old.</summary>
    ToolMissing,
    /// <summary>A file given as a SQLite database is not one (no SQLite header, or an empty file).</summary>
    NotSqlite,
    /// <summary>A SQLite database stayed locked by another connection beyond the timeout; a PostgreSQL table was changed (TRUNCATE, ALTER TABLE) as a backup began, or such a change waits for a lock the backup needs.</summary>
    DatabaseBusy,
    /// <summary>A database file is damaged (SQLite's integrity check failed, or a read hit corruption); nothing was recorded as good.</summary>
    DatabaseCorrupt,
    /// <summary>A restore would overwrite a database file that exists or is open for writing, and --yes was not given.</summary>
    DatabaseInUse,
    /// <summary>The command of <c>--stdin-from-command</c> could not be started, exited with a non-zero status or was killed.</summary>
    CommandFailed,
    /// <summary>An <c>env:PATTERN</c> source matches no environment variable.</summary>
    NoVariableMatched,
    /// <summary>The user interrupted the command (Ctrl-C) where what was done so far stays and needs saying.</summary>
    Interrupted,
}
