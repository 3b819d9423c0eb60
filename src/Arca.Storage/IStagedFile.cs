namespace Arca.Storage;

/// <summary>
/// A file being written whose name is known only when it is complete (a pack is named by the hash of its
/// bytes). Bytes are appended in order; <see cref="CommitAsync"/> publishes them atomically under their
/// final key, and disposing without a commit discards them. Nothing is visible to readers before the commit.
/// </summary>
public interface IStagedFile : IAsyncDisposable
{
    /// <summary>Bytes appended so far.</summary>
    long Length { get; }

    ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Publishes the bytes under <paramref name="key"/>, as <see cref="IStorage.PutAsync"/> would.</summary>
    Task CommitAsync(StorageKey key, CancellationToken cancellationToken);
}
