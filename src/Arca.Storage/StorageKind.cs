namespace Arca.Storage;

/// <summary>The kinds of file a repository keeps; each kind lives in its own folder or prefix.</summary>
public enum StorageKind
{
    Config,
    Key,
    Lock,
    Snapshot,
    Index,
    Pack,
}
