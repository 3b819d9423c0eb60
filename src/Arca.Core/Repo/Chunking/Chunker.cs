using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Arca.Repo.Chunking;

/// <summary>
/// FastCDC content-defined chunker (Xia et al., "FastCDC: a Fast and Efficient Content-Defined
/// Chunking Approach for Data Deduplication", USENIX ATC 2016): a gear rolling hash with
/// normalized chunking (level 2) and cut-point skipping.
/// </summary>
/// <remarks>
/// <para>
/// The hash is <c>hash = (hash &lt;&lt; 1) + gear[b]</c> over a secret <see cref="GearTable"/>.
/// Because every step shifts left by one bit, a byte's contribution leaves the 64-bit hash after
/// 64 more bytes: the hash after byte <c>i</c> is a function of exactly the 64 bytes ending at
/// <c>i</c>. A cut after byte <c>i</c> (a chunk of length <c>i + 1</c>) happens when
/// <c>(hash &amp; mask) == 0</c>.
/// </para>
/// <para>
/// Cut-point skipping: the first <c>MinSize - 64</c> bytes of a chunk are not hashed at all; hashing
/// starts at offset <c>MinSize - 64</c> so that the hash at the first candidate cut (length
/// <c>MinSize</c>) already covers a full 64-byte window. As a result the decision at every
/// candidate depends only on the 64 bytes before it (and the seed), exactly as if the whole
/// chunk had been hashed; the state is reset at each chunk start, so boundaries never depend on
/// how the input was split into calls.
/// </para>
/// <para>
/// Normalized chunking: for lengths below <c>AverageSize</c> the mask has <c>log2(avg) + 2</c> one
/// bits (cuts are 4x less likely than 1/avg); from <c>AverageSize</c> on it has
/// <c>log2(avg) - 2</c> (4x more likely). As with FastCDC's padded masks the bits are spread over
/// bit positions 16..63 (always including bit 63, which depends on all 64 bytes of the window),
/// so each cut depends on a 48..64-byte window rather than on the last few bytes.
/// </para>
/// </remarks>
public sealed class Chunker
{
    private const int WindowSize = 64;

    private readonly ulong[] _gear;
    private readonly int _minSize;
    private readonly int _averageSize;
    private readonly int _maxSize;
    private readonly ulong _maskSmall;
    private readonly ulong _maskLarge;

    public Chunker(ChunkerParameters parameters, GearTable gear)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(gear);
        parameters.Validate();

        Parameters = parameters;
        _gear = gear.Values.ToArray();
        _minSize = parameters.MinSize;
        _averageSize = parameters.AverageSize;
        _maxSize = parameters.MaxSize;

        var averageBits = BitOperations.Log2((uint)parameters.AverageSize);
        _maskSmall = SpreadMask(averageBits + 2);
        _maskLarge = SpreadMask(averageBits - 2);
    }

    /// <summary>
    /// Cuts every <paramref name="size"/> bytes instead of by content: for files made of fixed-size pages
    /// (SQLite), where a change rewrites pages in place and never shifts the bytes after it, so chunks aligned
    /// to pages change only where pages did. The boundaries reveal nothing beyond the file's size.
    /// </summary>
    public static Chunker FixedSize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, ChunkerParameters.SmallestMinSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, ChunkerParameters.LargestMaxSize);
        return new Chunker(size);
    }

    private Chunker(int fixedSize)
    {
        Parameters = new ChunkerParameters(fixedSize, fixedSize, fixedSize);
        _gear = [];
        _minSize = _averageSize = _maxSize = _fixedSize = fixedSize;
    }

    /// <summary>Nonzero for a <see cref="FixedSize"/> chunker: every chunk but the last is this long.</summary>
    private readonly int _fixedSize;

    public ChunkerParameters Parameters { get; }

    /// <summary>The stricter mask, used for chunk lengths below AverageSize.</summary>
    internal ulong MaskSmall => _maskSmall;

    /// <summary>The looser mask, used for chunk lengths from AverageSize on.</summary>
    internal ulong MaskLarge => _maskLarge;

    /// <summary>
    /// Returns the length of the chunk that starts at the beginning of <paramref name="data"/>.
    /// </summary>
    /// <param name="data">The unchunked bytes; a chunk starts at index 0.</param>
    /// <param name="isFinal">
    /// True when <paramref name="data"/> holds everything up to the end of the input.
    /// </param>
    /// <returns>
    /// The chunk length (never more than MaxSize). When no cut is found in <paramref name="data"/>:
    /// MaxSize if <paramref name="data"/> is at least that long; otherwise <c>data.Length</c> if
    /// <paramref name="isFinal"/> (the last chunk, which may be shorter than MinSize, and is 0 for
    /// empty data), or -1 meaning "call again with more bytes". Callers that keep at least MaxSize
    /// bytes buffered (except at the end of input) never see -1.
    /// </returns>
    public int FindBoundary(ReadOnlySpan<byte> data, bool isFinal)
    {
        var length = data.Length;
        if (_fixedSize > 0)
        {
            return length >= _fixedSize ? _fixedSize : isFinal ? length : -1;
        }
        var minSize = _minSize;
        if (length < minSize || (isFinal && length == minSize))
        {
            return isFinal ? length : -1;
        }

        var limit = Math.Min(length, _maxSize);
        var cut = Scan(ref MemoryMarshal.GetReference(data), ref MemoryMarshal.GetArrayDataReference(_gear), limit);
        if (cut > 0)
        {
            return cut;
        }

        if (limit == _maxSize)
        {
            return _maxSize;
        }

        return isFinal ? length : -1;
    }

    /// <summary>Returns the first cut length in [MinSize, limit], or 0 when there is none.</summary>
    /// <remarks>Requires <c>MinSize &lt;= limit &lt;= data length</c>.</remarks>
    private int Scan(ref byte data, ref ulong gear, int limit)
    {
        ulong hash = 0;
        nint i = _minSize - WindowSize;

        // Warm-up: 63 bytes, no candidate cut yet (lengths below MinSize).
        nint warmEnd = _minSize - 1;
        for (; i < warmEnd; i++)
        {
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref data, i));
        }

        // Lengths MinSize .. AverageSize - 1: the strict mask.
        var mask = _maskSmall;
        nint end = Math.Min(limit, _averageSize - 1);
        for (; i < end; i++)
        {
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref data, i));
            if ((hash & mask) == 0)
            {
                return (int)i + 1;
            }
        }

        // Lengths AverageSize .. limit: the loose mask.
        mask = _maskLarge;
        end = limit;
        for (; i < end; i++)
        {
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref data, i));
            if ((hash & mask) == 0)
            {
                return (int)i + 1;
            }
        }

        return 0;
    }

    /// <summary>
    /// A mask of <paramref name="bits"/> one bits spread evenly over bit positions 16..63, highest
    /// bit first: bit <c>63 - floor(k * 48 / bits)</c> for k = 0..bits-1 (distinct while bits &lt;= 48).
    /// </summary>
    internal static ulong SpreadMask(int bits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bits, 48);
        ulong mask = 0;
        for (var k = 0; k < bits; k++)
        {
            mask |= 1UL << (63 - (k * 48 / bits));
        }

        return mask;
    }
}
