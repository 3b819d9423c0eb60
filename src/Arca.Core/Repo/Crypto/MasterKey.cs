using System.Security.Cryptography;

namespace Arca.Repo.Crypto;

/// <summary>
/// The repository's secrets: an AES-256 key that seals every file and blob, and a MAC key that makes
/// blob ids (HMAC-SHA-256 of the plaintext) unguessable to whoever holds the storage without the key.
/// Passwords never touch data: they only unwrap this key (see <see cref="KeyWrapping"/>).
/// </summary>
public sealed class MasterKey
{
    public const int KeySize = 32;

    public MasterKey(byte[] encryptionKey, byte[] macKey)
    {
        if (encryptionKey.Length != KeySize || macKey.Length != KeySize)
        {
            throw new ArgumentException("Master keys are 32 bytes each.");
        }
        EncryptionKey = encryptionKey;
        MacKey = macKey;
        Sealer = new Sealer(encryptionKey);
    }

    public byte[] EncryptionKey { get; }
    public byte[] MacKey { get; }
    public Sealer Sealer { get; }

    public static MasterKey Create() =>
        new(RandomNumberGenerator.GetBytes(KeySize), RandomNumberGenerator.GetBytes(KeySize));

    /// <summary>The keyed id of a blob's plaintext.</summary>
    public BlobId IdOf(ReadOnlySpan<byte> plaintext)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(MacKey, plaintext, mac);
        return new BlobId(new Hash256(mac));
    }

    /// <summary>
    /// Seals a blob's stored bytes in place (see <see cref="Sealer.SealInPlace"/>) bound to its id: the id is the
    /// message's associated data, so the sealed bytes open under that id only. A blob moved under another id's index
    /// entry, or another blob put where this one's entry points, fails to open, as surely as one with a flipped bit;
    /// so a reader that opens a blob by its id knows it holds what was stored under that id without hashing it again.
    /// </summary>
    public int SealBlob(Span<byte> buffer, int storedLength, BlobId id)
    {
        Span<byte> associated = stackalloc byte[Hash256.Size];
        id.Hash.WriteTo(associated);
        return Sealer.SealInPlace(buffer, storedLength, associated);
    }

    /// <summary>Opens a blob sealed by <see cref="SealBlob"/> under <paramref name="id"/>; false if it does not authenticate.</summary>
    public bool TryOpenBlob(ReadOnlySpan<byte> sealedBytes, Span<byte> destination, BlobId id, out int written)
    {
        Span<byte> associated = stackalloc byte[Hash256.Size];
        id.Hash.WriteTo(associated);
        return Sealer.TryOpen(sealedBytes, destination, out written, associated);
    }
}
