using Arca.Repo.Chunking;

namespace Arca.Core.Tests.Chunking;

public class ChunkerParametersTests
{
    [Fact]
    public void Default_is_512KiB_1MiB_8MiB_and_valid()
    {
        var parameters = ChunkerParameters.Default;

        parameters.ShouldBe(new ChunkerParameters(512 * 1024, 1024 * 1024, 8 * 1024 * 1024));
        Should.NotThrow(parameters.Validate);
    }

    [Theory]
    [InlineData(64, 128, 129)]
    [InlineData(100, 128, 200)]
    [InlineData(3000, 4096, 10_000)]
    [InlineData(1024 * 1024, 32 * 1024 * 1024, 64 * 1024 * 1024)]
    public void Validate_accepts_sizes_where_only_the_average_is_a_power_of_two(int min, int average, int max)
    {
        Should.NotThrow(new ChunkerParameters(min, average, max).Validate);
    }

    [Theory]
    [InlineData(63, 1024, 4096, "MinSize must be at least 64")]
    [InlineData(0, 1024, 4096, "MinSize must be at least 64")]
    [InlineData(-512, 1024, 4096, "MinSize must be at least 64")]
    [InlineData(512, 1000, 4096, "AverageSize must be a power of two")]
    [InlineData(512, 0, 4096, "AverageSize must be a power of two")]
    [InlineData(512, -1024, 4096, "AverageSize must be a power of two")]
    [InlineData(1024, 1024, 4096, "MinSize must be smaller than AverageSize")]
    [InlineData(2048, 1024, 4096, "MinSize must be smaller than AverageSize")]
    [InlineData(512, 1024, 1024, "AverageSize must be smaller than MaxSize")]
    [InlineData(512, 1024, 800, "AverageSize must be smaller than MaxSize")]
    [InlineData(1024 * 1024, 32 * 1024 * 1024, (64 * 1024 * 1024) + 1, "MaxSize must be at most")]
    [InlineData(1024 * 1024, 64 * 1024 * 1024, 128 * 1024 * 1024, "MaxSize must be at most")]
    public void Validate_rejects_bad_sizes_with_a_clear_message(int min, int average, int max, string expected)
    {
        var parameters = new ChunkerParameters(min, average, max);

        var exception = Should.Throw<ArgumentException>(parameters.Validate);

        exception.Message.ShouldContain(expected);
    }

    [Fact]
    public void Chunker_constructor_validates_the_parameters()
    {
        Should.Throw<ArgumentException>(() => new Chunker(new ChunkerParameters(512, 1000, 4096), ChunkingTestData.Gear(1)))
            .Message.ShouldContain("power of two");
    }
}
