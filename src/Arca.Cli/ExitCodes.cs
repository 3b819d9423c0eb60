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
        _ => InternalError,
    };

    /// <summary>The table printed under each command's help.</summary>
    public const string HelpText = """
        Exit codes: 0 success, 1 internal error, 2 usage error, 3 partial (some items left out),
          10 no repository, 11 repository locked, 12 wrong password, 13 repository exists,
          14 unsupported format, 15 repository damaged, 16 storage failed, 20 snapshot not found,
          21 ambiguous snapshot id, 22 path not found, 130 interrupted.
        """;
}
