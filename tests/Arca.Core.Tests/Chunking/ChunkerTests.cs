using System.Numerics;
using System.Security.Cryptography;
using Arca.Repo.Chunking;

namespace Arca.Core.Tests.Chunking;

public class ChunkerTests
{
    private static readonly ChunkerParameters Small = ChunkingTestData.Small;

    [Fact]
    public void Every_chunk_but_the_last_is_within_min_and_max_on_random_data()
    {
        var lengths = ChunkingTestData.ChunkLengths(ChunkingTestData.SmallChunker(), ChunkingTestData.Large);

        lengths.Count.ShouldBeGreaterThan(1000);
        lengths.Take(lengths.Count - 1).ShouldAllBe(length => length >= Small.MinSize && length <= Small.MaxSize);
        lengths[^1].ShouldBeInRange(1, Small.MaxSize);
    }

    [Fact]
    public void Chunks_never_exceed_max_size_when_the_content_has_no_cut_points()
    {
        // Every gear value 1: after 64 bytes the hash is 2^64 - 1 whatever the content, so it never
        // matches a mask and only MaxSize ends a chunk.
        var gear = new GearTable(Enumerable.Repeat(1UL, 256).ToArray());
        var chunker = new Chunker(Small, gear);
        var data = ChunkingTestData.RandomBytes((5 * Small.MaxSize) + 1234, 7);

        var lengths = ChunkingTestData.ChunkLengths(chunker, data);

        lengths.ShouldBe([Small.MaxSize, Small.MaxSize, Small.MaxSize, Small.MaxSize, Small.MaxSize, 1234]);
    }

    [Fact]
    public void Chunks_are_min_size_when_every_position_is_a_cut_point()
    {
        // Every gear value 0: the hash is always 0, so the first candidate (MinSize) is always taken.
        var chunker = new Chunker(Small, new GearTable(new ulong[256]));
        var data = new byte[(3 * Small.MinSize) + 10];

        ChunkingTestData.ChunkLengths(chunker, data).ShouldBe([Small.MinSize, Small.MinSize, Small.MinSize, 10]);
    }

    [Fact]
    public void Low_entropy_data_stays_within_bounds()
    {
        // Zero runs long enough to hit MaxSize, mixed with random runs.
        var data = new byte[4 * 1024 * 1024];
        var random = new Random(3);
        for (var position = 0; position < data.Length; position += 300_000)
        {
            random.NextBytes(data.AsSpan(position, Math.Min(50_000, data.Length - position)));
        }

        var lengths = ChunkingTestData.ChunkLengths(ChunkingTestData.SmallChunker(), data);

        lengths.Sum().ShouldBe(data.Length);
        lengths.Take(lengths.Count - 1).ShouldAllBe(length => length >= Small.MinSize && length <= Small.MaxSize);
    }

    [Fact]
    public void Concatenated_chunks_equal_the_input()
    {
        var data = ChunkingTestData.RandomBytes(3 * 1024 * 1024, 11);

        var chunks = ChunkingTestData.Split(data, ChunkingTestData.ChunkLengths(ChunkingTestData.SmallChunker(), data));

        chunks.SelectMany(chunk => chunk).ToArray().ShouldBe(data);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(4095)]
    [InlineData(4096)]
    public void Final_data_of_at_most_min_size_is_one_chunk(int length)
    {
        var chunker = ChunkingTestData.SmallChunker();

        chunker.FindBoundary(ChunkingTestData.RandomBytes(length, 5), isFinal: true).ShouldBe(length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    public void Non_final_data_shorter_than_min_size_asks_for_more(int length)
    {
        var chunker = ChunkingTestData.SmallChunker();

        chunker.FindBoundary(ChunkingTestData.RandomBytes(length, 5), isFinal: false).ShouldBe(-1);
    }

    [Fact]
    public void A_boundary_does_not_depend_on_how_much_data_follows()
    {
        var chunker = ChunkingTestData.SmallChunker();
        var data = ChunkingTestData.Large.AsSpan(0, 2 * 1024 * 1024);
        var random = new Random(9);
        var position = 0;
        for (var chunk = 0; chunk < 40; chunk++)
        {
            var rest = data[position..];
            var cut = chunker.FindBoundary(rest, isFinal: false);
            cut.ShouldBeInRange(Small.MinSize, Small.MaxSize);

            int[] prefixes = [Small.MinSize - 1, Small.MinSize, cut - 1, cut, cut + 1, Small.MaxSize, random.Next(Small.MinSize, Small.MaxSize)];
            foreach (var prefix in prefixes)
            {
                var expectedIfMore = prefix >= cut ? cut : -1;
                var expectedIfFinal = prefix >= cut ? cut : prefix;
                chunker.FindBoundary(rest[..prefix], isFinal: false).ShouldBe(expectedIfMore, $"chunk {chunk}, prefix {prefix}");
                chunker.FindBoundary(rest[..prefix], isFinal: true).ShouldBe(expectedIfFinal, $"chunk {chunk}, prefix {prefix}");
            }

            position += cut;
        }
    }

    [Fact]
    public void Bytes_skipped_before_the_hash_window_do_not_move_the_cut_but_the_last_byte_does()
    {
        var chunker = ChunkingTestData.SmallChunker();
        var data = ChunkingTestData.RandomBytes(Small.MaxSize, 21);
        var cut = chunker.FindBoundary(data, isFinal: false);
        cut.ShouldBeGreaterThan(Small.MinSize);

        // The first MinSize - 64 bytes are never hashed.
        var skippedChanged = (byte[])data.Clone();
        Array.Fill(skippedChanged, (byte)0xAA, 0, Small.MinSize - 64);
        chunker.FindBoundary(skippedChanged, isFinal: false).ShouldBe(cut);

        // The byte just before the cut is part of the window that decided it.
        var lastChanged = (byte[])data.Clone();
        lastChanged[cut - 1] ^= 0x5A;
        chunker.FindBoundary(lastChanged, isFinal: false).ShouldNotBe(cut);
    }

    [Fact]
    public void A_cut_depends_on_exactly_the_64_bytes_before_it()
    {
        var gear = ChunkingTestData.Gear(1);
        var chunker = new Chunker(Small, gear);
        var random = new Random(12);
        var data = ChunkingTestData.RandomBytes(Small.MinSize + 1000, 13);
        var window = data.AsSpan(Small.MinSize - 64, 64);

        // Search for a 64-byte window that ends in a cut at the first candidate, MinSize.
        var tries = 0;
        do
        {
            random.NextBytes(window);
            tries++;
        }
        while (chunker.FindBoundary(data.AsSpan(0, Small.MinSize), isFinal: false) != Small.MinSize && tries < 4_000_000);
        tries.ShouldBeInRange(2, 4_000_000 - 1, "a cut at MinSize has probability 2^-16 per random window");

        // Any byte before the window may change: still a cut.
        var outside = (byte[])data.Clone();
        random.NextBytes(outside.AsSpan(0, Small.MinSize - 64));
        chunker.FindBoundary(outside, isFinal: false).ShouldBe(Small.MinSize);

        // The first byte of the window reaches bit 63 through the low bit of its gear value: flipping
        // that bit moves the cut.
        var first = (byte[])data.Clone();
        var old = first[Small.MinSize - 64];
        first[Small.MinSize - 64] = (byte)Enumerable.Range(0, 256).First(b => ((gear.Values[b] ^ gear.Values[old]) & 1) == 1);
        chunker.FindBoundary(first, isFinal: false).ShouldNotBe(Small.MinSize);
    }

    [Fact]
    public void Inserting_bytes_near_the_start_changes_only_the_first_chunks()
    {
        var chunker = ChunkingTestData.SmallChunker();
        var original = ChunkingTestData.Large;
        var inserted = ChunkingTestData.RandomBytes(37, 4);
        var modified = original[..1000].Concat(inserted).Concat(original[1000..]).ToArray();

        var before = ChunkHashes(chunker, original);
        var after = ChunkHashes(chunker, modified);

        var sharedTail = SharedSuffixLength(before, after);
        (before.Count - sharedTail).ShouldBeLessThanOrEqualTo(2);
        (after.Count - sharedTail).ShouldBeLessThanOrEqualTo(2);
        after[0].ShouldNotBe(before[0]);
    }

    [Fact]
    public void Inserting_and_deleting_bytes_in_the_middle_changes_only_the_chunks_around_the_edit()
    {
        var chunker = ChunkingTestData.SmallChunker();
        var original = ChunkingTestData.Large;
        var middle = original.Length / 2;
        var edited = original[..middle].Concat(ChunkingTestData.RandomBytes(5000, 8)).Concat(original[(middle + 100)..]).ToArray();

        var before = ChunkHashes(chunker, original);
        var after = ChunkHashes(chunker, edited);

        var sharedHead = before.Zip(after).TakeWhile(pair => pair.First == pair.Second).Count();
        var sharedTail = SharedSuffixLength(before, after);
        sharedHead.ShouldBeGreaterThan(before.Count / 3);
        (before.Count - sharedHead - sharedTail).ShouldBeInRange(1, 3);
        (after.Count - sharedHead - sharedTail).ShouldBeInRange(1, 3);
    }

    [Fact]
    public void The_same_seed_gives_the_same_boundaries()
    {
        var data = ChunkingTestData.Large.AsSpan(0, 8 * 1024 * 1024);

        var first = ChunkingTestData.ChunkLengths(ChunkingTestData.SmallChunker(seed: 5), data);
        var second = ChunkingTestData.ChunkLengths(ChunkingTestData.SmallChunker(seed: 5), data);

        second.ShouldBe(first);
    }

    [Fact]
    public void Different_seeds_give_different_boundaries()
    {
        var data = ChunkingTestData.Large.AsSpan(0, 8 * 1024 * 1024);

        var first = ChunkingTestData.Offsets(ChunkingTestData.ChunkLengths(ChunkingTestData.SmallChunker(seed: 5), data));
        var second = ChunkingTestData.Offsets(ChunkingTestData.ChunkLengths(ChunkingTestData.SmallChunker(seed: 6), data));

        // Independent tables: a shared boundary (other than the end of the data) is a rare coincidence.
        var shared = first.Intersect(second).Count() - 1;
        shared.ShouldBeLessThan(first.Count / 20);
        first[0].ShouldNotBe(second[0]);
    }

    [Fact]
    public void Average_chunk_size_on_random_data_is_near_the_average_size_with_small_parameters()
    {
        var lengths = ChunkingTestData.ChunkLengths(ChunkingTestData.SmallChunker(), ChunkingTestData.Large);

        var mean = lengths.Take(lengths.Count - 1).Average();

        mean.ShouldBeInRange(0.6 * Small.AverageSize, 1.6 * Small.AverageSize);
    }

    [Fact]
    public void Average_chunk_size_on_random_data_is_near_the_average_size_with_default_parameters()
    {
        var parameters = ChunkerParameters.Default;
        var data = ChunkingTestData.RandomBytes(96 * 1024 * 1024, 77);
        var lengths = ChunkingTestData.ChunkLengths(new Chunker(parameters, ChunkingTestData.Gear(3)), data);

        var mean = lengths.Take(lengths.Count - 1).Average();

        lengths.Count.ShouldBeGreaterThan(40);
        mean.ShouldBeInRange(0.6 * parameters.AverageSize, 1.6 * parameters.AverageSize);
        lengths.Take(lengths.Count - 1).ShouldAllBe(length => length >= parameters.MinSize && length <= parameters.MaxSize);
    }

    [Fact]
    public void Masks_are_strict_before_the_average_and_loose_after_with_high_bits()
    {
        var chunker = ChunkingTestData.SmallChunker();
        var averageBits = BitOperations.Log2((uint)Small.AverageSize);

        BitOperations.PopCount(chunker.MaskSmall).ShouldBe(averageBits + 2);
        BitOperations.PopCount(chunker.MaskLarge).ShouldBe(averageBits - 2);
        foreach (var mask in new[] { chunker.MaskSmall, chunker.MaskLarge })
        {
            // Bit 63 is a function of all 64 bytes of the window; nothing below bit 16.
            BitOperations.LeadingZeroCount(mask).ShouldBe(0);
            BitOperations.TrailingZeroCount(mask).ShouldBeGreaterThanOrEqualTo(16);
        }
    }

    [Fact]
    public void Boundaries_match_the_reference_implementation()
    {
        // From an independent Python reference that hashes every byte from the chunk start (no
        // skipping), seed = bytes 0..31, data = SHA-256("arca-test-data" || uint32le(j)) blocks, 4K/16K/64K.
        // Also pins the on-disk chunking format: if this changes, existing repositories stop deduplicating.
        var seed = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var chunker = new Chunker(Small, GearTable.FromSeed(seed));
        var data = ChunkingTestData.HashStreamBytes(256 * 1024);

        var lengths = ChunkingTestData.ChunkLengths(chunker, data);

        lengths.ShouldBe([16710, 25848, 20548, 22490, 16501, 17105, 22673, 17333, 20515, 24136, 17298, 17945, 23042]);
    }

    private static List<string> ChunkHashes(Chunker chunker, byte[] data) =>
        ChunkingTestData.Split(data, ChunkingTestData.ChunkLengths(chunker, data))
            .Select(chunk => Convert.ToHexString(SHA256.HashData(chunk)))
            .ToList();

    private static int SharedSuffixLength(List<string> first, List<string> second)
    {
        var shared = 0;
        while (shared < first.Count && shared < second.Count && first[^(shared + 1)] == second[^(shared + 1)])
        {
            shared++;
        }

        return shared;
    }
}
