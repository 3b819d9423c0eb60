namespace Arca.Storage;

/// <summary>
/// A storage operation failed. <see cref="IsTransient"/> says whether trying again may help
/// (a timeout, a reset connection); a missing file, a bad range or a denied access are permanent.
/// The retrying decorator acts on that flag alone.
/// </summary>
public sealed class StorageException : Exception
{
    public StorageException(string message, bool isTransient, Exception? inner = null)
        : base(message, inner)
    {
        IsTransient = isTransient;
    }

    public bool IsTransient { get; }
}
