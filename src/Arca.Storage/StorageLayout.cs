namespace Arca.Storage;

/// <summary>
/// Where each kind of file lives, the same in every backend: <c>config</c> at the root, <c>keys/</c>,
/// <c>locks/</c>, <c>snapshots/</c>, <c>index/</c>, and <c>data/XX/</c> for packs (XX = the first two
/// characters of the name, so no folder grows past a few thousand files). A repository copied between a
/// folder and a bucket with any file tool stays a repository.
/// </summary>
public static class StorageLayout
{
    public const string ConfigName = "config";

    /// <summary>The folder of <paramref name="kind"/> relative to the root; empty for the config.</summary>
    public static string FolderOf(StorageKind kind) => kind switch
    {
        StorageKind.Config => "",
        StorageKind.Key => "keys",
        StorageKind.Lock => "locks",
        StorageKind.Snapshot => "snapshots",
        StorageKind.Index => "index",
        StorageKind.Pack => "data",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The path of <paramref name="key"/> relative to the root, with '/' between parts.</summary>
    public static string RelativePath(StorageKey key) => key.Kind switch
    {
        StorageKind.Config => ConfigName,
        StorageKind.Pack => $"data/{(key.Name.Length >= 2 ? key.Name[..2] : "00")}/{key.Name}",
        _ => $"{FolderOf(key.Kind)}/{key.Name}",
    };
}
