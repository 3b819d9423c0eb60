using System.Runtime.InteropServices;

namespace Arca.Native.Interop;

internal static partial class LibSodium
{
    private const string Library = "libsodium.so.23";

    internal const int AlgArgon2id13 = 2;

    [LibraryImport(Library, EntryPoint = "sodium_init")]
    internal static partial int SodiumInit();

    // libsodium sets errno (ENOMEM, EINVAL) when crypto_pwhash fails.
    [LibraryImport(Library, EntryPoint = "crypto_pwhash", SetLastError = true)]
    internal static unsafe partial int CryptoPwhash(
        byte* output, ulong outputLength, byte* password, ulong passwordLength, byte* salt,
        ulong opsLimit, nuint memLimit, int algorithm);
}
