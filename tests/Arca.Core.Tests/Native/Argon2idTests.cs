using System.Text;
using Arca.Native;

namespace Arca.Core.Tests.Native;

public class Argon2idTests
{
    private static readonly byte[] Salt = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();

    private static byte[] Derive(string password, byte[] salt, long ops = 1, long mem = 8192, int length = 32)
    {
        var output = new byte[length];
        Argon2id.DeriveKey(Encoding.UTF8.GetBytes(password), salt, ops, mem, output);
        return output;
    }

    // Expected values come from the Argon2 reference implementation (Debian's libargon2-1, argon2_hash with
    // Argon2id v1.3, one lane, m = memlimit / 1024 KiB), which shares no code with libsodium.
    [Theory]
    [InlineData("correct horse battery staple", "000102030405060708090a0b0c0d0e0f", 3, 65536,
        "bc240e180a205bd2e782cdc64983f247e76aeb8fb2133aec1570b70cccd68bff")]
    [InlineData("password", "736f6d6573616c74736f6d6573616c74", 2, 8192,
        "15f9096648661df495d96750ec80cb309d32881fe5be489d1f23940b0f735df5")]
    public void Matches_the_reference_implementation(string password, string saltHex, long ops, long mem, string expectedHex)
    {
        var key = Derive(password, Convert.FromHexString(saltHex), ops, mem);

        Convert.ToHexStringLower(key).ShouldBe(expectedHex);
    }

    [Fact]
    public void Same_inputs_give_the_same_key()
    {
        Derive("secret", Salt).ShouldBe(Derive("secret", Salt));
    }

    [Fact]
    public void Each_input_changes_the_key()
    {
        var baseline = Derive("secret", Salt);
        var otherSalt = (byte[])Salt.Clone();
        otherSalt[15] ^= 1;

        Derive("secret", otherSalt).ShouldNotBe(baseline);
        Derive("secreT", Salt).ShouldNotBe(baseline);
        Derive("", Salt).ShouldNotBe(baseline);
        Derive("secret", Salt, ops: 2).ShouldNotBe(baseline);
        Derive("secret", Salt, mem: 16384).ShouldNotBe(baseline);
    }

    [Fact]
    public void Parallel_callers_agree()
    {
        var expected = Derive("parallel", Salt);
        var results = new byte[8][];

        Parallel.For(0, results.Length, i => results[i] = Derive("parallel", Salt));

        foreach (var result in results)
        {
            result.ShouldBe(expected);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(32)]
    public void Rejects_a_salt_that_is_not_16_bytes(int saltLength)
    {
        var ex = Should.Throw<ArgumentException>(
            () => Argon2id.DeriveKey("pw"u8, new byte[saltLength], 1, 8192, new byte[32]));
        ex.ParamName.ShouldBe("salt");
    }

    [Theory]
    [InlineData(0, 8192, "opsLimit")]
    [InlineData(-1, 8192, "opsLimit")]
    [InlineData(1, 8191, "memLimitBytes")]
    [InlineData(1, 0, "memLimitBytes")]
    public void Rejects_limits_below_the_minimums(long ops, long mem, string parameter)
    {
        var ex = Should.Throw<ArgumentException>(() => Argon2id.DeriveKey("pw"u8, Salt, ops, mem, new byte[32]));
        ex.ParamName.ShouldBe(parameter);
    }

    [Fact]
    public void Rejects_an_output_shorter_than_16_bytes()
    {
        var ex = Should.Throw<ArgumentException>(() => Argon2id.DeriveKey("pw"u8, Salt, 1, 8192, new byte[15]));
        ex.ParamName.ShouldBe("output");
    }
}
