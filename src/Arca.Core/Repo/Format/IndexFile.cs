using System.Buffers.Binary;

namespace Arca.Repo.Format;

/// <summary>
/// An index file's payload (inside a <see cref="SealedFile"/>, compressed): version (1) | count of
/// superseded index files (4 LE) | their ids (32 each) | count of packs (4 LE) | per pack: id (32) |
/// count of blobs (4 LE) | per blob: type (1) | flags (1) | offset (4 LE) | stored length (4 LE) |
/// raw length (4 LE) | id (32). Binary rather than JSON: the index is the one structure that grows
/// with the repository, and it is read on every open.
/// </summary>
public sealed record IndexFile(IReadOnlyList<Hash256> Supersedes, IReadOnlyList<IndexFile.PackBlobs> Packs)
{
    public const byte Version = 1;
    private const int BlobSize = 1 + 1 + 4 + 4 + 4 + Hash256.Size;

    public sealed record PackBlobs(PackId Pack, IReadOnlyList<BlobEntry> Blobs);

    public byte[] Encode()
    {
        var size = 1 + 4 + Supersedes.Count * Hash256.Size + 4;
        foreach (var pack in Packs)
        {
            size += Hash256.Size + 4 + pack.Blobs.Count * BlobSize;
        }
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteInt32LittleEndian(span[1..], Supersedes.Count);
        span = span[5..];
        foreach (var id in Supersedes)
        {
            id.WriteTo(span);
            span = span[Hash256.Size..];
        }
        BinaryPrimitives.WriteInt32LittleEndian(span, Packs.Count);
        span = span[4..];
        foreach (var pack in Packs)
        {
            pack.Pack.Hash.WriteTo(span);
            BinaryPrimitives.WriteInt32LittleEndian(span[Hash256.Size..], pack.Blobs.Count);
            span = span[(Hash256.Size + 4)..];
            foreach (var blob in pack.Blobs)
            {
                span[0] = (byte)blob.Type;
                span[1] = blob.Compressed ? (byte)1 : (byte)0;
                BinaryPrimitives.WriteUInt32LittleEndian(span[2..], blob.Offset);
                BinaryPrimitives.WriteUInt32LittleEndian(span[6..], blob.StoredLength);
                BinaryPrimitives.WriteUInt32LittleEndian(span[10..], blob.RawLength);
                blob.Id.Hash.WriteTo(span[14..]);
                span = span[BlobSize..];
            }
        }
        return bytes;
    }

    public static IndexFile Decode(ReadOnlySpan<byte> bytes, string name)
    {
        try
        {
            if (bytes[0] != Version)
            {
                throw new InvalidDataException($"Index file {name} has version {bytes[0]}, which this version of arca does not know.");
            }
            var superseded = BinaryPrimitives.ReadInt32LittleEndian(bytes[1..]);
            bytes = bytes[5..];
            var supersedes = new List<Hash256>(superseded);
            for (var i = 0; i < superseded; i++)
            {
                supersedes.Add(new Hash256(bytes));
                bytes = bytes[Hash256.Size..];
            }
            var packCount = BinaryPrimitives.ReadInt32LittleEndian(bytes);
            bytes = bytes[4..];
            var packs = new List<PackBlobs>(packCount);
            for (var p = 0; p < packCount; p++)
            {
                var pack = new PackId(new Hash256(bytes));
                var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[Hash256.Size..]);
                bytes = bytes[(Hash256.Size + 4)..];
                var blobs = new BlobEntry[count];
                for (var i = 0; i < count; i++)
                {
                    blobs[i] = new BlobEntry(new BlobId(new Hash256(bytes[14..])), (BlobType)bytes[0], (bytes[1] & 1) != 0,
                        BinaryPrimitives.ReadUInt32LittleEndian(bytes[2..]), BinaryPrimitives.ReadUInt32LittleEndian(bytes[6..]),
                        BinaryPrimitives.ReadUInt32LittleEndian(bytes[10..]));
                    bytes = bytes[BlobSize..];
                }
                packs.Add(new PackBlobs(pack, blobs));
            }
            if (!bytes.IsEmpty)
            {
                throw new InvalidDataException($"Index file {name} has {bytes.Length} bytes past its end.");
            }
            return new IndexFile(supersedes, packs);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or ArgumentException)
        {
            throw new InvalidDataException($"Index file {name} is truncated.", ex);
        }
    }
}
