namespace Arca.Cli;

/// <summary>The exit codes scripts can rely on (docs/exit-codes.md). Never renumber one.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int InternalError = 1;
    public const int Usage = 2;
    /// <summary>The operation finished but left some items out (unreadable files); the output names them.</summary>
    public const int Partial = 3;
    public const int RepositoryNotFound = 10;
    public const int RepositoryLocked = 11;
    public const int WrongPassword = 12;
    public const int RepositoryExists = 13;
    public const int UnsupportedFormat = 14;
    public const int RepositoryDamaged = 15;
    public const int StorageFailed = 16;
    public const int SnapshotNotFound = 20;
    public const int AmbiguousSnapshot = 21;
    public const int PathNotFound = 22;
    public const int DatabaseUnreachable = 30;
    public const int DatabaseLoginFailed = 31;
    public const int DatabaseNotFound = 32;
    public const int TableNotFound = 33;
    public const int InvalidFilter = 34;
    public const int FilterWrites = 35;
    public const int TableMismatch = 36;
    public const int DatabaseNotEmpty = 37;
    public const int DatabaseFailed = 38;
    public const int ToolMissing = 39;
    public const int NotSqlite = 40;
    public const int DatabaseBusy = 41;
    public const int DatabaseCorrupt = 42;
    public const int DatabaseInUse = 43;
    /// <summary>The command of --stdin-from-command could not be started, failed or was killed; no snapshot was written.</summary>
    public const int CommandFailed = 44;
    /// <summary>An env:PATTERN source matches no environment variable; no snapshot was written.</summary>
    public const int NoVariableMatched = 45;
    public const int Interrupted = 130;

    public static int For(ErrorCode code) => code switch
    {
        ErrorCode.Usage => Usage,
        ErrorCode.Partial => Partial,
        ErrorCode.RepositoryNotFound => RepositoryNotFound,
        ErrorCode.RepositoryLocked => RepositoryLocked,
        ErrorCode.WrongPassword => WrongPassword,
        ErrorCode.RepositoryExists => RepositoryExists,
        ErrorCode.UnsupportedFormat => UnsupportedFormat,
        ErrorCode.RepositoryDamaged => RepositoryDamaged,
        ErrorCode.Storage => StorageFailed,
        ErrorCode.SnapshotNotFound => SnapshotNotFound,
        ErrorCode.AmbiguousSnapshot => AmbiguousSnapshot,
        ErrorCode.PathNotFound => PathNotFound,
        ErrorCode.DatabaseUnreachable => DatabaseUnreachable,
        ErrorCode.DatabaseLoginFailed => DatabaseLoginFailed,
        ErrorCode.DatabaseNotFound => DatabaseNotFound,
        ErrorCode.TableNotFound => TableNotFound,
        ErrorCode.InvalidFilter => InvalidFilter,
        ErrorCode.FilterWrites => FilterWrites,
        ErrorCode.TableMismatch => TableMismatch,
        ErrorCode.DatabaseNotEmpty => DatabaseNotEmpty,
        ErrorCode.DatabaseFailed => DatabaseFailed,
        ErrorCode.ToolMissing => ToolMissing,
        ErrorCode.NotSqlite => NotSqlite,
        ErrorCode.DatabaseBusy => DatabaseBusy,
        ErrorCode.DatabaseCorrupt => DatabaseCorrupt,
        ErrorCode.DatabaseInUse => DatabaseInUse,
        ErrorCode.CommandFailed => CommandFailed,
        ErrorCode.NoVariableMatched => NoVariableMatched,
        ErrorCode.Interrupted => Interrupted,
        _ => InternalError,
    };

    /// <summary>The table printed under each command's help.</summary>
    public const string HelpText = """
        Exit codes: 0 success, 1 internal error, 2 usage error, 3 partial (some items left out),
          10 no repository, 11 repository locked, 12 wrong password, 13 repository exists,
          14 unsupported format, 15 repository damaged, 16 storage failed, 20 snapshot not found,
          21 ambiguous snapshot id, 22 path not found, 30 database unreachable, 31 database login failed,
          32 database not found, 33 table not found, 34 invalid row filter, 35 row filter tried to write,
          36 table columns do not match, 37 target database not empty, 38 database error, 39 tool missing,
          40 not a SQLite database, 41 database locked beyond the timeout, 42 database file corrupt,
          43 restore target in use or exists (pass --yes), 44 backed-up command failed,
          45 no environment variable matches an env: pattern, 130 interrupted.
        """;
}
