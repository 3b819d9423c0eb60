namespace Arca.Repo;

/// <summary>What restore and check need from a repository: blobs by id, verified.</summary>
public interface IBlobLoader
{
    /// <summary>
    /// Loads a blob's plaintext, checking it against its id. Throws <see cref="BlobDamagedException"/> if
    /// the stored bytes do not decrypt or do not hash to the id, and <see cref="ArcaException"/> if no
    /// index entry names it.
    /// </summary>
    Task<byte[]> LoadBlobAsync(BlobId id, CancellationToken cancellationToken);

    /// <summary>The same, into a pooled buffer: for restores, which move every byte of a snapshot.</summary>
    Task<PooledBlob> LoadPooledBlobAsync(BlobId id, CancellationToken cancellationToken);
}
