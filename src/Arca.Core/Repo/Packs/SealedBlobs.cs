using Arca.Repo.Format;

namespace Arca.Repo.Packs;

/// <summary>Reading blobs in the order they lie out of a stream of a pack's bytes (a restore's pack reads, prune's repacking).</summary>
internal static class SealedBlobs
{
    /// <summary>
    /// Reads <paramref name="blobs"/>, sorted by offset, from <paramref name="stream"/>, whose first byte is the pack's byte at
    /// <paramref name="position"/>: reads past what lies between them, and hands each blob's sealed bytes (in
    /// <paramref name="buffer"/>, which must hold the largest; valid only during the call) with its place in the list.
    /// </summary>
    public static async Task ReadAsync(Stream stream, long position, IReadOnlyList<BlobEntry> blobs, byte[] buffer,
        Func<int, BlobEntry, Memory<byte>, ValueTask> each, CancellationToken cancellationToken)
    {
        for (var i = 0; i < blobs.Count; i++)
        {
            var entry = blobs[i];
            for (var gap = (long)entry.Offset - position; gap > 0;)
            {
                var n = (int)Math.Min(gap, buffer.Length);
                await stream.ReadExactlyAsync(buffer.AsMemory(0, n), cancellationToken);
                gap -= n;
            }
            var sealedBytes = buffer.AsMemory(0, (int)entry.StoredLength);
            await stream.ReadExactlyAsync(sealedBytes, cancellationToken);
            position = (long)entry.Offset + entry.StoredLength;
            await each(i, entry, sealedBytes);
        }
    }
}
