using System.Security.Cryptography;
using System.Text;
using Arca.Native;

namespace Arca.Repo.Crypto;

/// <summary>Argon2id parameters for deriving a key from a password.</summary>
/// <param name="OpsLimit">Passes over memory.</param>
/// <param name="MemLimit">Bytes of memory. The default, 64 MiB with 3 passes, takes about 0.2 s here: slow
/// enough to make guessing expensive, small enough to stay under the backup's own working set.</param>
public sealed record KdfParameters(long OpsLimit, long MemLimit)
{
    public static KdfParameters Default { get; } = new(3, 64L << 20);

    /// <summary>The cheapest parameters libsodium allows: for tests only, never for real repositories.</summary>
    public static KdfParameters Insecure { get; } = new(1, 8192);
}

/// <summary>Seals the master key under a password-derived key, and opens it again.</summary>
public static class KeyWrapping
{
    public const int SaltSize = 16;

    public static byte[] DeriveKey(string password, ReadOnlySpan<byte> salt, KdfParameters kdf)
    {
        var key = new byte[32];
        Argon2id.DeriveKey(Encoding.UTF8.GetBytes(password), salt, kdf.OpsLimit, kdf.MemLimit, key);
        return key;
    }

    public static byte[] Wrap(MasterKey master, byte[] derivedKey)
    {
        var material = new byte[64];
        master.EncryptionKey.CopyTo(material, 0);
        master.MacKey.CopyTo(material, 32);
        var sealedKey = new Sealer(derivedKey).Seal(material);
        CryptographicOperations.ZeroMemory(material);
        return sealedKey;
    }

    /// <summary>The master key, or null if <paramref name="derivedKey"/> is not the one that wrapped it.</summary>
    public static MasterKey? Unwrap(ReadOnlySpan<byte> sealedKey, byte[] derivedKey)
    {
        var material = new Sealer(derivedKey).Open(sealedKey);
        if (material is null || material.Length != 64)
        {
            return null;
        }
        return new MasterKey(material[..32], material[32..]);
    }
}
