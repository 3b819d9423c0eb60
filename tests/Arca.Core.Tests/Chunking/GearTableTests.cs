using Arca.Repo.Chunking;

namespace Arca.Core.Tests.Chunking;

public class GearTableTests
{
    private static byte[] CountingSeed() => Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void FromSeed_matches_the_documented_HMAC_derivation()
    {
        // Computed independently (Python hmac): first 8 bytes LE of HMAC-SHA-256(seed, "arca-gear" || uint32le(i)).
        var table = GearTable.FromSeed(CountingSeed());

        table.Values.Length.ShouldBe(256);
        table.Values[0].ShouldBe(0x37325b1b746e40fdUL);
        table.Values[1].ShouldBe(0xb02d5fb834a69c45UL);
        table.Values[255].ShouldBe(0x23c6bc415f2d742fUL);
    }

    [Fact]
    public void Same_seed_gives_the_same_table()
    {
        var first = GearTable.FromSeed(CountingSeed());
        var second = GearTable.FromSeed(CountingSeed());

        second.Values.ToArray().ShouldBe(first.Values.ToArray());
    }

    [Fact]
    public void Different_seeds_give_different_tables_with_distinct_values()
    {
        var seed = CountingSeed();
        var first = GearTable.FromSeed(seed);
        seed[31] ^= 1;
        var second = GearTable.FromSeed(seed);

        first.Values.ToArray().Distinct().Count().ShouldBe(256);
        first.Values.ToArray().Intersect(second.Values.ToArray()).ShouldBeEmpty();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void FromSeed_rejects_seeds_that_are_not_32_bytes(int length)
    {
        Should.Throw<ArgumentException>(() => GearTable.FromSeed(new byte[length]))
            .Message.ShouldContain("32 bytes");
    }
}
