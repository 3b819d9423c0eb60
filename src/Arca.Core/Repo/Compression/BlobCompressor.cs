using Arca.Native;

namespace Arca.Repo.Compression;

/// <summary>
/// zstd through the system's libzstd, with a raw fallback: data that does not shrink by at least
/// 1/32 is stored as it is, so random bytes cost nothing to decompress later.
/// Level 3 is zstd's default: on this kind of machine it runs near 190 MB/s a core and stores about 4%
/// less than level 1 on text; the backup pipeline spreads it over every core.
/// </summary>
public static class BlobCompressor
{
    public const int DefaultLevel = 3;

    /// <summary>
    /// The destination a compression needs: output longer than this is not worth keeping, so zstd is given
    /// no more room (a smaller buffer than zstd's worst-case bound, which matters at 8 MiB chunks).
    /// </summary>
    public static int MaxCompressedLength(int length) => Math.Max(1, length - (length >> 5));

    /// <summary>
    /// Compresses <paramref name="source"/> into <paramref name="destination"/> (at least
    /// <see cref="MaxCompressedLength"/> long). Returns the compressed length, or -1 if storing raw is better.
    /// </summary>
    public static int TryCompress(ReadOnlySpan<byte> source, Span<byte> destination, int level = DefaultLevel)
    {
        if (source.Length < 64)
        {
            return -1;
        }
        var room = MaxCompressedLength(source.Length);
        try
        {
            var written = Zstd.Compress(source, destination[..room], level);
            return written < room ? written : -1;
        }
        catch (InvalidOperationException)
        {
            // zstd ran out of room: the data does not shrink enough to be worth compressing.
            return -1;
        }
    }

    public static void Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var written = Zstd.Decompress(source, destination);
        if (written != destination.Length)
        {
            throw new InvalidDataException($"A blob decompressed to {written} bytes where {destination.Length} were recorded.");
        }
    }
}
