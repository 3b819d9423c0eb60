namespace Arca.Repo;

/// <summary>What the backup engine needs from a repository: ids of plaintext, and storing blobs.</summary>
public interface IBlobSaver
{
    BlobId IdOf(ReadOnlySpan<byte> plaintext);

    /// <summary>Whether the repository (or this session) has the blob already.</summary>
    bool HasBlob(BlobId id);

    /// <summary>Stores a blob unless it is stored already; true if it was new.</summary>
    ValueTask<bool> SaveBlobAsync(BlobType type, BlobId id, ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken);

    /// <summary>
    /// The same, compressed at <paramref name="compressionLevel"/> instead of the repository's level (unless the
    /// repository stores uncompressed): for data whose best trade-off is known to differ, such as table rows.
    /// </summary>
    ValueTask<bool> SaveBlobAsync(BlobType type, BlobId id, ReadOnlyMemory<byte> plaintext, int compressionLevel, CancellationToken cancellationToken);
}
