namespace Arca;

/// <summary>
/// Something the user can mend: a wrong password, a path that does not exist, an unknown snapshot.
/// <see cref="Exception.Message"/> says what is wrong in one sentence; <see cref="Hint"/> says how to mend it.
/// Anything else thrown is a bug and keeps its stack trace for the log.
/// </summary>
public sealed class ArcaException : Exception
{
    public ArcaException(ErrorCode code, string message, string? hint = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        Hint = hint;
    }

    public ErrorCode Code { get; }
    public string? Hint { get; }
}
