using System.Buffers.Binary;
using System.Security.Cryptography;
using Arca.Repo.Chunking;

namespace Arca.Core.Tests.Chunking;

internal static class ChunkingTestData
{
    /// <summary>Small sizes so tests see thousands of chunks in a few MiB.</summary>
    public static ChunkerParameters Small { get; } = new(4 * 1024, 16 * 1024, 64 * 1024);

    private static readonly Lazy<byte[]> LargeRandom = new(() => RandomBytes(32 * 1024 * 1024, 20160622));

    /// <summary>32 MiB of random bytes shared by tests: never modify it.</summary>
    public static byte[] Large => LargeRandom.Value;

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static GearTable Gear(int seed) => GearTable.FromSeed(RandomBytes(GearTable.SeedSize, seed));

    public static Chunker SmallChunker(int seed = 1) => new(Small, Gear(seed));

    /// <summary>Chunks a whole buffer, feeding everything that is left each time.</summary>
    public static List<int> ChunkLengths(Chunker chunker, ReadOnlySpan<byte> data)
    {
        var lengths = new List<int>();
        var position = 0;
        while (position < data.Length)
        {
            var length = chunker.FindBoundary(data[position..], isFinal: true);
            length.ShouldBeGreaterThan(0);
            lengths.Add(length);
            position += length;
        }

        return lengths;
    }

    public static async Task<List<byte[]>> StreamChunks(Chunker chunker, Stream stream)
    {
        var chunks = new List<byte[]>();
        using var streamChunker = new StreamChunker(stream, chunker);
        while (await streamChunker.NextAsync(CancellationToken.None) is { } chunk)
        {
            chunks.Add(chunk.ToArray());
        }

        return chunks;
    }

    public static List<byte[]> Split(byte[] data, List<int> lengths)
    {
        var chunks = new List<byte[]>(lengths.Count);
        var position = 0;
        foreach (var length in lengths)
        {
            chunks.Add(data.AsSpan(position, length).ToArray());
            position += length;
        }

        return chunks;
    }

    public static List<int> Offsets(List<int> lengths)
    {
        var offsets = new List<int>(lengths.Count);
        var position = 0;
        foreach (var length in lengths)
        {
            position += length;
            offsets.Add(position);
        }

        return offsets;
    }

    /// <summary>Deterministic, version-independent pseudo-random bytes: SHA-256("arca-test-data" || uint32le(j)).</summary>
    public static byte[] HashStreamBytes(int length)
    {
        var bytes = new byte[length];
        Span<byte> message = stackalloc byte[18];
        "arca-test-data"u8.CopyTo(message);
        for (var j = 0; j * 32 < length; j++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(message[14..], (uint)j);
            var block = SHA256.HashData(message);
            block.AsSpan(0, Math.Min(32, length - (j * 32))).CopyTo(bytes.AsSpan(j * 32));
        }

        return bytes;
    }
}

/// <summary>A read-only stream over a buffer that returns short reads of random sizes (1..maxRead bytes).</summary>
internal sealed class ShortReadStream(byte[] data, int seed, int maxRead = 4096) : Stream
{
    private readonly Random _random = new(seed);
    private int _position;

    public int ReadCalls { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ReadCalls++;
        var count = Math.Min(Math.Min(buffer.Length, data.Length - _position), _random.Next(1, maxRead + 1));
        data.AsSpan(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Complete asynchronously now and then, like a real file or network stream.
        if (_random.Next(8) == 0)
        {
            await Task.Yield();
        }

        return Read(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
