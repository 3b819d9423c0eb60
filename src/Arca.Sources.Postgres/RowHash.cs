using System.Buffers.Binary;
using System.Numerics;

namespace Arca.Sources.Postgres;

/// <summary>
/// A fast 128-bit hash of one row (MurmurHash3, x64 128-bit variant), for digests that compare rows within one
/// process: a restored table against what was loaded into it. Not for ids or anything stored, and no defence against
/// rows crafted to collide; SHA-256 per row cost more than the server's own work to print them.
/// </summary>
internal static class RowHash
{
    private const ulong C1 = 0x87c37b91114253d5, C2 = 0x4cf5ad432745937f;

    public static (ulong Low, ulong High) Of(ReadOnlySpan<byte> data)
    {
        ulong h1 = 0, h2 = 0;
        var blocks = data.Length / 16;
        for (var i = 0; i < blocks; i++)
        {
            var k1 = BinaryPrimitives.ReadUInt64LittleEndian(data[(i * 16)..]);
            var k2 = BinaryPrimitives.ReadUInt64LittleEndian(data[(i * 16 + 8)..]);
            h1 ^= MixK1(k1);
            h1 = BitOperations.RotateLeft(h1, 27) + h2;
            h1 = h1 * 5 + 0x52dce729;
            h2 ^= MixK2(k2);
            h2 = BitOperations.RotateLeft(h2, 31) + h1;
            h2 = h2 * 5 + 0x38495ab5;
        }
        var tail = data[(blocks * 16)..];
        if (tail.Length > 8)
        {
            h2 ^= MixK2(Tail(tail[8..]));
        }
        if (tail.Length > 0)
        {
            h1 ^= MixK1(Tail(tail[..Math.Min(8, tail.Length)]));
        }
        h1 ^= (ulong)data.Length;
        h2 ^= (ulong)data.Length;
        h1 += h2;
        h2 += h1;
        h1 = Finish(h1);
        h2 = Finish(h2);
        h1 += h2;
        h2 += h1;
        return (h1, h2);
    }

    private static ulong MixK1(ulong k) => BitOperations.RotateLeft(k * C1, 31) * C2;

    private static ulong MixK2(ulong k) => BitOperations.RotateLeft(k * C2, 33) * C1;

    /// <summary>Up to 8 bytes, little-endian, as the algorithm reads its tail.</summary>
    private static ulong Tail(ReadOnlySpan<byte> bytes)
    {
        ulong k = 0;
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            k = (k << 8) | bytes[i];
        }
        return k;
    }

    private static ulong Finish(ulong k)
    {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccd;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53;
        k ^= k >> 33;
        return k;
    }
}
