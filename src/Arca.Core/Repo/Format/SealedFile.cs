using System.Buffers.Binary;
using Arca.Native;
using Arca.Repo.Crypto;

namespace Arca.Repo.Format;

/// <summary>
/// The envelope of every whole file that is not a pack or a key (snapshots, index files, locks, the
/// config's body): plaintext = encoding (1 byte: 0 raw, 1 zstd) | raw length (4 bytes LE, zstd only) |
/// payload; then sealed with the master key.
/// </summary>
public static class SealedFile
{
    private const byte Raw = 0;
    private const byte Zstandard = 1;

    public static byte[] Encode(Sealer sealer, ReadOnlySpan<byte> payload, bool compress)
    {
        byte[] plain;
        if (compress && payload.Length >= 64)
        {
            var buffer = new byte[5 + Zstd.CompressBound(payload.Length)];
            buffer[0] = Zstandard;
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(1), payload.Length);
            var n = Zstd.Compress(payload, buffer.AsSpan(5), 3);
            plain = buffer.AsSpan(0, 5 + n).ToArray();
        }
        else
        {
            plain = new byte[1 + payload.Length];
            plain[0] = Raw;
            payload.CopyTo(plain.AsSpan(1));
        }
        return sealer.Seal(plain);
    }

    /// <summary>Opens a sealed file; throws <see cref="InvalidDataException"/> if it is damaged.</summary>
    public static byte[] Decode(Sealer sealer, ReadOnlySpan<byte> sealedBytes, string what)
    {
        var plain = sealer.Open(sealedBytes)
            ?? throw new InvalidDataException($"{what} does not decrypt: it is damaged or sealed with another key.");
        if (plain.Length < 1)
        {
            throw new InvalidDataException($"{what} is empty.");
        }
        switch (plain[0])
        {
            case Raw:
                return plain[1..];
            case Zstandard when plain.Length >= 5:
                var length = BinaryPrimitives.ReadInt32LittleEndian(plain.AsSpan(1));
                if (length < 0 || length > 1 << 30)
                {
                    throw new InvalidDataException($"{what} records an impossible length {length}.");
                }
                var payload = new byte[length];
                var written = Zstd.Decompress(plain.AsSpan(5), payload);
                if (written != length)
                {
                    throw new InvalidDataException($"{what} decompressed to {written} bytes where {length} were recorded.");
                }
                return payload;
            default:
                throw new InvalidDataException($"{what} uses an encoding ({plain[0]}) this version of arca does not know.");
        }
    }
}
