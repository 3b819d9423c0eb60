namespace Arca.Storage;

/// <summary>Conveniences built only on <see cref="IStorage"/>, so every backend gets them.</summary>
public static class StorageExtensions
{
    /// <summary>Reads a whole file (or a range) into memory.</summary>
    public static async Task<byte[]> ReadAllAsync(this IStorage storage, StorageKey key, CancellationToken cancellationToken,
        long offset = 0, long length = 0)
    {
        byte[] result = [];
        await storage.ReadAsync(key, offset, length, async (stream, ct) =>
        {
            if (length > 0)
            {
                var buffer = new byte[length];
                await stream.ReadExactlyAsync(buffer, ct);
                result = buffer;
            }
            else
            {
                using var memory = new MemoryStream();
                await stream.CopyToAsync(memory, ct);
                result = memory.ToArray();
            }
        }, cancellationToken);
        return result;
    }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>.</summary>
    public static Task ReadIntoAsync(this IStorage storage, StorageKey key, long offset, Memory<byte> destination,
        CancellationToken cancellationToken) =>
        storage.ReadAsync(key, offset, destination.Length,
            async (stream, ct) => await stream.ReadExactlyAsync(destination, ct), cancellationToken);

    public static async Task PutBytesAsync(this IStorage storage, StorageKey key, ReadOnlyMemory<byte> bytes,
        CancellationToken cancellationToken)
    {
        using var stream = new ReadOnlyMemoryStream(bytes);
        await storage.PutAsync(key, stream, cancellationToken);
    }
}
