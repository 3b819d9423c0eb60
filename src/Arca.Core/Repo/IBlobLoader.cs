using Arca.Repo.Format;
using Arca.Repo.Index;

namespace Arca.Repo;

/// <summary>
/// Receives one blob of a pack read by <see cref="IBlobLoader.ReadPackAsync"/>: its verified plaintext (valid only
/// during the call), or, when it cannot be had, why (<paramref name="damage"/>, and an empty plaintext).
/// </summary>
public delegate ValueTask PackBlobHandler(BlobEntry blob, ReadOnlyMemory<byte> plaintext, BlobDamagedException? damage,
    CancellationToken cancellationToken);

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

    /// <summary>Where the index says a blob is stored; false if no entry names it.</summary>
    bool TryLocate(BlobId id, out IndexLocation location);

    /// <summary>How many blobs the index places in a pack: once a restore has asked for that many, it knows the pack's whole use.</summary>
    int CountBlobsIn(PackId pack);

    /// <summary>
    /// Reads <paramref name="blobs"/> of one pack, each once, in the order they lie and in as few requests as their
    /// layout allows, and hands each to <paramref name="handler"/> as soon as it is checked: restores read whole
    /// packs this way rather than a request per blob. A blob that fails its check, or whose pack is missing, is
    /// handed on with its damage; the storage's failures (after its retries, a range past the pack's end among
    /// them) are thrown.
    /// </summary>
    Task ReadPackAsync(PackId pack, IReadOnlyList<BlobEntry> blobs, PackBlobHandler handler, CancellationToken cancellationToken);
}
