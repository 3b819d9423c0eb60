namespace Arca.Storage;

/// <summary>What storage knows about one file: its key and its size in bytes.</summary>
public readonly record struct StorageEntry(StorageKey Key, long Length);
