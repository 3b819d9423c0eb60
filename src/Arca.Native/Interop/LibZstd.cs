using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Arca.Native.Interop;

internal static partial class LibZstd
{
    private const string Library = "libzstd.so.1";

    [LibraryImport(Library, EntryPoint = "ZSTD_compressBound")]
    internal static partial nuint CompressBound(nuint srcSize);

    [LibraryImport(Library, EntryPoint = "ZSTD_isError")]
    internal static partial uint IsError(nuint code);

    // Returns a pointer to a static string: must not be freed, so it is not marshalled as string.
    [LibraryImport(Library, EntryPoint = "ZSTD_getErrorName")]
    internal static partial nint GetErrorName(nuint code);

    [LibraryImport(Library, EntryPoint = "ZSTD_createCCtx")]
    internal static partial CompressionContextHandle CreateCCtx();

    [LibraryImport(Library, EntryPoint = "ZSTD_freeCCtx")]
    internal static partial nuint FreeCCtx(nint cctx);

    [LibraryImport(Library, EntryPoint = "ZSTD_compressCCtx")]
    internal static unsafe partial nuint CompressCCtx(
        CompressionContextHandle cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int compressionLevel);

    [LibraryImport(Library, EntryPoint = "ZSTD_createDCtx")]
    internal static partial DecompressionContextHandle CreateDCtx();

    [LibraryImport(Library, EntryPoint = "ZSTD_freeDCtx")]
    internal static partial nuint FreeDCtx(nint dctx);

    [LibraryImport(Library, EntryPoint = "ZSTD_decompressDCtx")]
    internal static unsafe partial nuint DecompressDCtx(
        DecompressionContextHandle dctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    internal static string ErrorName(nuint code) =>
        Marshal.PtrToStringUTF8(GetErrorName(code)) ?? $"zstd error {code}";
}

// SafeHandles so a thread's context is freed by the finalizer once the thread (and its ThreadStatic) is gone.
internal sealed class CompressionContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public CompressionContextHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        LibZstd.FreeCCtx(handle);
        return true;
    }
}

internal sealed class DecompressionContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public DecompressionContextHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        LibZstd.FreeDCtx(handle);
        return true;
    }
}
