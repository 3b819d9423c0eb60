namespace Arca.Storage;

/// <summary>The named file is not in storage. Permanent: retrying does not help.</summary>
public sealed class StorageNotFoundException : Exception
{
    public StorageNotFoundException(StorageKey key, Exception? inner = null)
        : base($"{key} does not exist in storage.", inner)
    {
        Key = key;
    }

    public StorageKey Key { get; }
}
