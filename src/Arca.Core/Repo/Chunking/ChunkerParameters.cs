using System.Numerics;

namespace Arca.Repo.Chunking;

/// <summary>
/// Size limits for content-defined chunking. Stored per repository: changing them changes every
/// chunk boundary, so deduplication only works between snapshots chunked with the same values.
/// </summary>
/// <param name="MinSize">No chunk (except the last of a file) is shorter than this. Need not be a power of two.</param>
/// <param name="AverageSize">The target ("normal") size where the cut condition switches from strict to loose. Must be a power of two.</param>
/// <param name="MaxSize">No chunk is longer than this. Need not be a power of two.</param>
public sealed record ChunkerParameters(int MinSize, int AverageSize, int MaxSize)
{
    /// <summary>The smallest allowed <see cref="MinSize"/>: the gear hash window is 64 bytes.</summary>
    public const int SmallestMinSize = 64;

    /// <summary>The largest allowed <see cref="MaxSize"/> (64 MiB).</summary>
    public const int LargestMaxSize = 64 * 1024 * 1024;

    /// <summary>
    /// 512 KiB / 1 MiB / 8 MiB, the sizes restic uses: chunks of about 1 MiB keep the index small
    /// (one entry per chunk) while deduplication of changed files stays good.
    /// </summary>
    public static ChunkerParameters Default { get; } = new(512 * 1024, 1024 * 1024, 8 * 1024 * 1024);

    /// <summary>Throws <see cref="ArgumentException"/> explaining the first rule the sizes break.</summary>
    public void Validate()
    {
        if (MinSize < SmallestMinSize)
        {
            throw new ArgumentException(
                $"Chunker MinSize must be at least {SmallestMinSize} bytes (the gear hash window), but it is {MinSize}.");
        }

        if (AverageSize <= 0 || !BitOperations.IsPow2(AverageSize))
        {
            throw new ArgumentException(
                $"Chunker AverageSize must be a power of two (for example 1048576), but it is {AverageSize}.");
        }

        if (MinSize >= AverageSize)
        {
            throw new ArgumentException(
                $"Chunker MinSize must be smaller than AverageSize, but MinSize is {MinSize} and AverageSize is {AverageSize}.");
        }

        if (AverageSize >= MaxSize)
        {
            throw new ArgumentException(
                $"Chunker AverageSize must be smaller than MaxSize, but AverageSize is {AverageSize} and MaxSize is {MaxSize}.");
        }

        if (MaxSize > LargestMaxSize)
        {
            throw new ArgumentException(
                $"Chunker MaxSize must be at most {LargestMaxSize} bytes (64 MiB), but it is {MaxSize}.");
        }
    }
}
