using System.Runtime.InteropServices;
using Arca.Native.Interop;

namespace Arca.Native;

/// <summary>Argon2id key derivation through libsodium's crypto_pwhash (one lane, version 1.3).</summary>
public static class Argon2id
{
    internal const int SaltLength = 16;
    internal const int MinOutputLength = 16;
    internal const long MinOpsLimit = 1;
    internal const long MaxOpsLimit = uint.MaxValue;
    internal const long MinMemLimitBytes = 8192;
    // crypto_pwhash_argon2id_MEMLIMIT_MAX on 64-bit platforms.
    internal const long MaxMemLimitBytes = 4398046510080;

    private static readonly Lock s_initLock = new();
    private static volatile bool s_initialized;

    public static unsafe void DeriveKey(
        ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, long opsLimit, long memLimitBytes, Span<byte> output)
    {
        if (salt.Length != SaltLength)
        {
            throw new ArgumentException($"The salt must be {SaltLength} bytes, not {salt.Length}.", nameof(salt));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(opsLimit, MinOpsLimit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(opsLimit, MaxOpsLimit);
        ArgumentOutOfRangeException.ThrowIfLessThan(memLimitBytes, MinMemLimitBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(memLimitBytes, MaxMemLimitBytes);
        if (output.Length < MinOutputLength)
        {
            throw new ArgumentException(
                $"The output must be at least {MinOutputLength} bytes, not {output.Length}.", nameof(output));
        }

        EnsureInitialized();

        int result;
        fixed (byte* pwd = password)
        fixed (byte* saltPtr = salt)
        fixed (byte* outPtr = output)
        {
            result = LibSodium.CryptoPwhash(
                outPtr, (ulong)output.Length, pwd, (ulong)password.Length, saltPtr,
                (ulong)opsLimit, checked((nuint)memLimitBytes), LibSodium.AlgArgon2id13);
        }

        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException(
                $"crypto_pwhash failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    private static void EnsureInitialized()
    {
        if (s_initialized)
        {
            return;
        }

        lock (s_initLock)
        {
            if (s_initialized)
            {
                return;
            }

            // 0 = initialised now, 1 = already initialised by someone else in the process.
            if (LibSodium.SodiumInit() < 0)
            {
                throw new InvalidOperationException("sodium_init failed");
            }

            s_initialized = true;
        }
    }
}
