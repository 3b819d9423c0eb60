using Arca.Native.Interop;

namespace Arca.Native;

/// <summary>One-shot zstd compression through the system libzstd.</summary>
public static class Zstd
{
    internal const int MinLevel = 1;
    internal const int MaxLevel = 19;

    // Contexts are pooled, not per thread: a level-3 compression context holds a few MiB, and a backup
    // compresses on whichever of a dozen pool threads is free. The pool holds as many as ran at once.
    private static readonly System.Collections.Concurrent.ConcurrentBag<CompressionContextHandle> CompressionContexts = [];
    private static readonly System.Collections.Concurrent.ConcurrentBag<DecompressionContextHandle> DecompressionContexts = [];

    /// <summary>Largest compressed size of <paramref name="length"/> input bytes.</summary>
    public static int CompressBound(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var bound = LibZstd.CompressBound((nuint)length);
        if (LibZstd.IsError(bound) != 0 || bound > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "The compressed bound does not fit in an int.");
        }

        return (int)bound;
    }

    /// <summary>Compresses <paramref name="source"/> into one frame; returns the bytes written.</summary>
    public static unsafe int Compress(ReadOnlySpan<byte> source, Span<byte> destination, int level)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, MinLevel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, MaxLevel);

        var context = CompressionContexts.TryTake(out var pooled) ? pooled : CreateCompressionContext();
        nuint result;
        try
        {
            fixed (byte* src = source)
            fixed (byte* dst = destination)
            {
                result = LibZstd.CompressCCtx(
                    context, dst, (nuint)destination.Length, src, (nuint)source.Length, level);
            }
        }
        finally
        {
            CompressionContexts.Add(context);
        }

        if (LibZstd.IsError(result) != 0)
        {
            throw new InvalidOperationException($"zstd compression failed: {LibZstd.ErrorName(result)}");
        }

        return (int)result;
    }

    /// <summary>Decompresses a whole frame (or concatenated frames); returns the bytes written.</summary>
    public static unsafe int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        // libzstd accepts zero input as zero frames; for us an empty blob is never valid.
        if (source.IsEmpty)
        {
            throw new InvalidDataException("zstd decompression failed: the input is empty");
        }

        var context = DecompressionContexts.TryTake(out var pooled) ? pooled : CreateDecompressionContext();
        nuint result;
        try
        {
            fixed (byte* src = source)
            fixed (byte* dst = destination)
            {
                result = LibZstd.DecompressDCtx(context, dst, (nuint)destination.Length, src, (nuint)source.Length);
            }
        }
        finally
        {
            DecompressionContexts.Add(context);
        }

        if (LibZstd.IsError(result) != 0)
        {
            throw new InvalidDataException($"zstd decompression failed: {LibZstd.ErrorName(result)}");
        }

        return (int)result;
    }

    private static CompressionContextHandle CreateCompressionContext()
    {
        var handle = LibZstd.CreateCCtx();
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw new InsufficientMemoryException("ZSTD_createCCtx failed");
        }

        return handle;
    }

    private static DecompressionContextHandle CreateDecompressionContext()
    {
        var handle = LibZstd.CreateDCtx();
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw new InsufficientMemoryException("ZSTD_createDCtx failed");
        }

        return handle;
    }
}
