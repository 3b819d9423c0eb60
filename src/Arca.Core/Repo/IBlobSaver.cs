namespace Arca.Repo;

/// <summary>What the backup engine needs from a repository: ids of plaintext, and storing blobs.</summary>
public interface IBlobSaver
{
    BlobId IdOf(ReadOnlySpan<byte> plaintext);

    /// <summary>Whether the repository (or this session) has the blob already.</summary>
    bool HasBlob(BlobId id);

    /// <summary>Stores a blob unless it is stored already; true if it was new.</summary>
    ValueTask<bool> SaveBlobAsync(BlobType type, BlobId id, ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken);
}
