using System.Buffers;

namespace Arca.Repo;

/// <summary>
/// The pool for chunk-sized buffers. ArrayPool.Shared keeps a cached array per thread and per size, so
/// with a dozen pool threads touching 1 to 16 MiB buffers it holds hundreds of MiB; this pool keeps a
/// few arrays per size for the whole process, which bounds what a backup or restore holds. Two per size:
/// a backup's workers use about two sizes each at a time, and with six kept per size the peak resident set of
/// a 1 GiB backup was about 10 MiB larger, for no gain in speed of backup or restore.
/// </summary>
public static class BufferPool
{
    public static ArrayPool<byte> Shared { get; } = ArrayPool<byte>.Create(maxArrayLength: 64 << 20, maxArraysPerBucket: 2);
}
