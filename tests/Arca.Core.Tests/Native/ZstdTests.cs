using System.Text;
using Arca.Native;

namespace Arca.Core.Tests.Native;

public class ZstdTests
{
    private static byte[] CompressibleText(int lines)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            builder.Append("line ").Append(i).Append(": the quick brown fox jumps over the lazy dog\n");
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] CompressToArray(byte[] data, int level)
    {
        var buffer = new byte[Zstd.CompressBound(data.Length)];
        var written = Zstd.Compress(data, buffer, level);
        return buffer[..written];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(19)]
    public void Compressible_text_round_trips_and_shrinks(int level)
    {
        var text = CompressibleText(5000);

        var compressed = CompressToArray(text, level);
        var restored = new byte[text.Length];
        var written = Zstd.Decompress(compressed, restored);

        written.ShouldBe(text.Length);
        restored.ShouldBe(text);
        compressed.Length.ShouldBeLessThan(text.Length / 4);
    }

    [Fact]
    public void Random_data_round_trips_within_the_bound()
    {
        var data = RandomBytes(200_000, seed: 7);

        var compressed = CompressToArray(data, 3);
        var restored = new byte[data.Length];
        var written = Zstd.Decompress(compressed, restored);

        written.ShouldBe(data.Length);
        restored.ShouldBe(data);
        compressed.Length.ShouldBeLessThanOrEqualTo(Zstd.CompressBound(data.Length));
        compressed.Length.ShouldBeGreaterThanOrEqualTo(data.Length);
    }

    [Fact]
    public void Empty_input_makes_a_frame_that_decompresses_to_nothing()
    {
        var compressed = CompressToArray([], 3);

        compressed.Length.ShouldBeGreaterThan(0);
        Zstd.Decompress(compressed, Span<byte>.Empty).ShouldBe(0);
    }

    [Fact]
    public void Decompress_into_a_larger_buffer_returns_the_real_length()
    {
        var text = CompressibleText(100);
        var compressed = CompressToArray(text, 3);
        var restored = new byte[text.Length + 1000];

        Zstd.Decompress(compressed, restored).ShouldBe(text.Length);
        restored.AsSpan(0, text.Length).ToArray().ShouldBe(text);
    }

    [Fact]
    public void Frames_written_by_the_zstd_cli_decompress_and_ours_are_read_by_it()
    {
        var text = CompressibleText(2000);

        var fromCli = Tool.Run("zstd", text, "-q", "-c", "-3");
        var restored = new byte[text.Length];
        Zstd.Decompress(fromCli, restored).ShouldBe(text.Length);
        restored.ShouldBe(text);

        var ours = CompressToArray(text, 5);
        Tool.Run("zstd", ours, "-q", "-d", "-c").ShouldBe(text);
    }

    [Fact]
    public void Decompress_of_garbage_throws_InvalidDataException()
    {
        var garbage = RandomBytes(1000, seed: 1);

        var ex = Should.Throw<InvalidDataException>(() => Zstd.Decompress(garbage, new byte[10_000]));
        ex.Message.ShouldContain("Unknown frame descriptor");
    }

    [Fact]
    public void Decompress_of_a_truncated_frame_throws_InvalidDataException()
    {
        var text = CompressibleText(1000);
        var compressed = CompressToArray(text, 3);

        Should.Throw<InvalidDataException>(
            () => Zstd.Decompress(compressed.AsSpan(0, compressed.Length - 5), new byte[text.Length]));
    }

    [Fact]
    public void Decompress_of_empty_input_throws_InvalidDataException()
    {
        Should.Throw<InvalidDataException>(() => Zstd.Decompress([], new byte[100]));
    }

    [Fact]
    public void Decompress_into_a_too_small_destination_throws_InvalidDataException()
    {
        var text = CompressibleText(1000);
        var compressed = CompressToArray(text, 3);

        var ex = Should.Throw<InvalidDataException>(() => Zstd.Decompress(compressed, new byte[text.Length - 1]));
        ex.Message.ShouldContain("Destination buffer is too small");
    }

    [Fact]
    public void Compress_into_a_too_small_destination_throws_InvalidOperationException()
    {
        var data = RandomBytes(10_000, seed: 3);

        var ex = Should.Throw<InvalidOperationException>(() => Zstd.Compress(data, new byte[100], 3));
        ex.Message.ShouldContain("Destination buffer is too small");
    }

    [Fact]
    public void Context_is_still_usable_after_a_failure()
    {
        var text = CompressibleText(1000);
        Should.Throw<InvalidOperationException>(() => Zstd.Compress(text, new byte[10], 3));
        Should.Throw<InvalidDataException>(() => Zstd.Decompress(RandomBytes(100, seed: 2), new byte[100]));

        var compressed = CompressToArray(text, 3);
        var restored = new byte[text.Length];
        Zstd.Decompress(compressed, restored).ShouldBe(text.Length);
        restored.ShouldBe(text);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(20)]
    public void Compress_rejects_levels_outside_1_to_19(int level)
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Zstd.Compress([1, 2, 3], new byte[100], level));
    }

    [Fact]
    public void CompressBound_matches_the_zstd_formula_and_rejects_what_does_not_fit()
    {
        // ZSTD_COMPRESSBOUND: n + n/256 + (n < 128 KiB ? (128 KiB - n) / 2048 : 0).
        Zstd.CompressBound(0).ShouldBe(64);
        Zstd.CompressBound(1000).ShouldBe(1000 + 3 + 63);
        Zstd.CompressBound(1 << 20).ShouldBe((1 << 20) + (1 << 12));
        Should.Throw<ArgumentOutOfRangeException>(() => Zstd.CompressBound(-1));
        Should.Throw<ArgumentOutOfRangeException>(() => Zstd.CompressBound(int.MaxValue));
    }

    [Fact]
    public void Concurrent_threads_each_round_trip_their_own_data()
    {
        var failures = 0;
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var data = i % 2 == 0 ? CompressibleText(200 + i) : RandomBytes(10_000 + i, seed: i);
            var compressed = CompressToArray(data, 1 + (i % 19));
            var restored = new byte[data.Length];
            if (Zstd.Decompress(compressed, restored) != data.Length || !restored.AsSpan().SequenceEqual(data))
            {
                Interlocked.Increment(ref failures);
            }
        });

        failures.ShouldBe(0);
    }
}
