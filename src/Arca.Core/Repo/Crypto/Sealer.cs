using System.Security.Cryptography;

namespace Arca.Repo.Crypto;

/// <summary>
/// AES-256-GCM with a random 96-bit nonce per message: sealed = nonce (12) | ciphertext | tag (16).
/// Random nonces are safe for about 2^32 messages per key; with ~1 MiB chunks that is petabytes of
/// blobs, far past one repository's size. Opening fails on any flipped bit.
/// </summary>
public sealed class Sealer
{
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int Overhead = NonceSize + TagSize;

    private readonly byte[] _key;
    // AesGcm holds native state that is not safe to share between threads.
    private readonly ThreadLocal<AesGcm> _gcm;

    public Sealer(byte[] key)
    {
        _key = key;
        _gcm = new ThreadLocal<AesGcm>(() => new AesGcm(_key, TagSize));
    }

    public static int SealedLength(int plaintextLength) => plaintextLength + Overhead;

    /// <summary>Seals <paramref name="plaintext"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    public int Seal(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var length = SealedLength(plaintext.Length);
        if (destination.Length < length)
        {
            throw new ArgumentException("Destination too small for the sealed message.", nameof(destination));
        }
        var nonce = destination[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        _gcm.Value!.Encrypt(nonce, plaintext, destination.Slice(NonceSize, plaintext.Length),
            destination.Slice(NonceSize + plaintext.Length, TagSize));
        return length;
    }

    /// <summary>
    /// Seals the <paramref name="plaintextLength"/> bytes that sit at <c>buffer[NonceSize..]</c> where they are
    /// (AES-GCM encrypts in place), writing the nonce before them and the tag after; returns the sealed length.
    /// Saves a copy of every blob on the backup path. <paramref name="associatedData"/> is authenticated, not stored:
    /// the message opens only with the same bytes given to <see cref="TryOpen"/>.
    /// </summary>
    public int SealInPlace(Span<byte> buffer, int plaintextLength, ReadOnlySpan<byte> associatedData = default)
    {
        var length = SealedLength(plaintextLength);
        if (buffer.Length < length)
        {
            throw new ArgumentException("Buffer too small for the sealed message.", nameof(buffer));
        }
        var nonce = buffer[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        var text = buffer.Slice(NonceSize, plaintextLength);
        _gcm.Value!.Encrypt(nonce, text, text, buffer.Slice(NonceSize + plaintextLength, TagSize), associatedData);
        return length;
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext)
    {
        var sealedBytes = new byte[SealedLength(plaintext.Length)];
        Seal(plaintext, sealedBytes);
        return sealedBytes;
    }

    /// <summary>
    /// Opens a sealed message; false if it was altered, sealed with another key, or sealed with other
    /// <paramref name="associatedData"/>.
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> sealedBytes, Span<byte> destination, out int written, ReadOnlySpan<byte> associatedData = default)
    {
        written = sealedBytes.Length - Overhead;
        if (written < 0 || destination.Length < written)
        {
            written = 0;
            return false;
        }
        try
        {
            _gcm.Value!.Decrypt(sealedBytes[..NonceSize], sealedBytes.Slice(NonceSize, written),
                sealedBytes[^TagSize..], destination[..written], associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            written = 0;
            return false;
        }
    }

    /// <summary>Opens a sealed message or returns null if it does not authenticate.</summary>
    public byte[]? Open(ReadOnlySpan<byte> sealedBytes)
    {
        if (sealedBytes.Length < Overhead)
        {
            return null;
        }
        var plain = new byte[sealedBytes.Length - Overhead];
        return TryOpen(sealedBytes, plain, out _) ? plain : null;
    }
}
