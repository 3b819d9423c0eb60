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
}
