using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Arca.Repo.Chunking;

/// <summary>
/// The 256 random 64-bit values of the gear hash, one per byte value. Derived from a secret
/// per-repository seed so that chunk boundaries (visible to the storage provider as blob sizes)
/// cannot be predicted, and so tell nothing about the content, without that seed.
/// </summary>
/// <remarks>
/// Derivation (a stable, on-disk format: never change it): value <c>i</c> (0..255) is the first
/// 8 bytes, read little-endian, of <c>HMAC-SHA-256(key: seed, message: "arca-gear" || uint32le(i))</c>,
/// where "arca-gear" is the 9 ASCII bytes and <c>uint32le(i)</c> is <c>i</c> as 4 little-endian bytes.
/// </remarks>
public sealed class GearTable
{
    /// <summary>The seed length in bytes.</summary>
    public const int SeedSize = 32;

    private readonly ulong[] _values;

    internal GearTable(ulong[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != 256)
        {
            throw new ArgumentException($"A gear table has exactly 256 values, but {values.Length} were given.", nameof(values));
        }

        _values = (ulong[])values.Clone();
    }

    /// <summary>The 256 values (for the chunker's hot loop and for tests).</summary>
    internal ReadOnlySpan<ulong> Values => _values;

    /// <summary>Derives the table from a 32-byte secret seed. Same seed, same table.</summary>
    public static GearTable FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new ArgumentException($"The gear seed must be exactly {SeedSize} bytes, but it is {seed.Length} bytes.", nameof(seed));
        }

        ReadOnlySpan<byte> label = "arca-gear"u8;
        Span<byte> message = stackalloc byte[label.Length + sizeof(uint)];
        label.CopyTo(message);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];

        var values = new ulong[256];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(message[label.Length..], (uint)i);
            HMACSHA256.HashData(seed, message, mac);
            values[i] = BinaryPrimitives.ReadUInt64LittleEndian(mac);
        }

        CryptographicOperations.ZeroMemory(mac);
        return new GearTable(values);
    }
}
