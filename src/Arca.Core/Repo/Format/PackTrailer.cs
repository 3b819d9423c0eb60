using System.Buffers.Binary;
using Arca.Repo.Crypto;

namespace Arca.Repo.Format;

/// <summary>
/// The end of every pack: a sealed header listing its blobs in order, then the header's sealed length
/// (4 bytes LE). Header plaintext = version (1) | count (4 LE) | per blob: type (1) | flags (1, bit 0 =
/// zstd) | stored length (4 LE) | raw length (4 LE) | id (32). Offsets follow from the order, so the
/// index can always be rebuilt from the packs alone.
/// </summary>
public static class PackTrailer
{
    public const byte Version = 1;
    private const int EntrySize = 1 + 1 + 4 + 4 + Hash256.Size;

    public static byte[] Encode(Sealer sealer, IReadOnlyList<BlobEntry> blobs)
    {
        var plain = new byte[5 + blobs.Count * EntrySize];
        plain[0] = Version;
        BinaryPrimitives.WriteInt32LittleEndian(plain.AsSpan(1), blobs.Count);
        var span = plain.AsSpan(5);
        foreach (var blob in blobs)
        {
            span[0] = (byte)blob.Type;
            span[1] = blob.Compressed ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteUInt32LittleEndian(span[2..], blob.StoredLength);
            BinaryPrimitives.WriteUInt32LittleEndian(span[6..], blob.RawLength);
            blob.Id.Hash.WriteTo(span[10..]);
            span = span[EntrySize..];
        }
        var sealedHeader = sealer.Seal(plain);
        var trailer = new byte[sealedHeader.Length + 4];
        sealedHeader.CopyTo(trailer, 0);
        BinaryPrimitives.WriteInt32LittleEndian(trailer.AsSpan(sealedHeader.Length), sealedHeader.Length);
        return trailer;
    }

    /// <summary>The length of the sealed header, read from the last 4 bytes of a pack.</summary>
    public static int HeaderLength(ReadOnlySpan<byte> lastFour) => BinaryPrimitives.ReadInt32LittleEndian(lastFour);

    /// <summary>Decodes a sealed header (without the 4-byte length) into blob entries with offsets.</summary>
    public static List<BlobEntry> Decode(Sealer sealer, ReadOnlySpan<byte> sealedHeader, string packName)
    {
        var plain = sealer.Open(sealedHeader)
            ?? throw new InvalidDataException($"The header of pack {packName} does not decrypt: the pack is damaged.");
        if (plain.Length < 5 || plain[0] != Version)
        {
            throw new InvalidDataException($"The header of pack {packName} has an unknown version or is truncated.");
        }
        var count = BinaryPrimitives.ReadInt32LittleEndian(plain.AsSpan(1));
        if (count < 0 || plain.Length != 5 + (long)count * EntrySize)
        {
            throw new InvalidDataException($"The header of pack {packName} lists {count} blobs but has {plain.Length} bytes.");
        }
        var result = new List<BlobEntry>(count);
        uint offset = 0;
        var span = plain.AsSpan(5);
        for (var i = 0; i < count; i++)
        {
            var stored = BinaryPrimitives.ReadUInt32LittleEndian(span[2..]);
            result.Add(new BlobEntry(new BlobId(new Hash256(span[10..])), (BlobType)span[0], (span[1] & 1) != 0, offset, stored,
                BinaryPrimitives.ReadUInt32LittleEndian(span[6..])));
            offset += stored;
            span = span[EntrySize..];
        }
        return result;
    }
}
