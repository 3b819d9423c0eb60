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
}
