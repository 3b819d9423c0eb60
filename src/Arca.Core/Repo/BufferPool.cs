using System.Buffers;

namespace Arca.Repo;

/// <summary>
/// The pool for chunk-sized buffers. ArrayPool.Shared keeps a cached array per thread and per size, so
/// with a dozen pool threads touching 1 to 16 MiB buffers it holds hundreds of MiB; this pool keeps a
/// few arrays per size for the whole process, which bounds what a backup or restore holds.
/// </summary>
public static class BufferPool
{
    public static ArrayPool<byte> Shared { get; } = ArrayPool<byte>.Create(maxArrayLength: 64 << 20, maxArraysPerBucket: 6);
}
