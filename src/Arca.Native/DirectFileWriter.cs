using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Arca.Native.Interop;
using Microsoft.Win32.SafeHandles;

namespace Arca.Native;

/// <summary>
/// Writes a new file front to back, bypassing the page cache (O_DIRECT) where the file system allows it.
///
/// Why: a backup writes hundreds of MiB of packs that nobody reads back soon. Through the page cache each byte
/// is copied into freshly allocated cache pages (measured: over a CPU-second for 0.5 GiB of packs, the largest
/// kernel cost of a backup) and evicts the cache of the applications the backup runs beside. With O_DIRECT the
/// device reads the bytes from one of two aligned buffers: appends copy into one while the other is written.
/// Where O_DIRECT is refused (tmpfs, some network file systems), the same calls write through the cache.
///
/// Not thread-safe: one writer appends in order, then <see cref="CompleteAsync"/>.
/// </summary>
public sealed class DirectFileWriter : IAsyncDisposable
{
    // O_DIRECT wants the buffer address, the file offset and the length aligned to the device's logical block
    // (512 or 4096 bytes); 4096 suits both.
    private const int Alignment = 4096;
    private const int BufferSize = 512 * 1024;
    private const int PooledBuffers = 8;

    private static readonly ConcurrentBag<nint> BufferPool = [];

    private readonly SafeFileHandle _handle;
    private readonly string _path;
    private nint _filling;
    private nint _writing;
    private Task? _pending;
    private int _used;
    private long _flushed;
    private bool _completed;

    private DirectFileWriter(SafeFileHandle handle, string path, bool isDirect)
    {
        _handle = handle;
        _path = path;
        IsDirect = isDirect;
    }

    /// <summary>True when writes bypass the page cache.</summary>
    public bool IsDirect { get; }

    /// <summary>Bytes appended so far.</summary>
    public long Length => _flushed + _used;

    /// <summary>The open file, for setting its owner, mode and times after <see cref="CompleteAsync"/>.</summary>
    public SafeFileHandle Handle => _handle;

    /// <summary>Creates <paramref name="path"/>, which must not exist. Throws IOException as File.OpenHandle does.</summary>
    /// <param name="preferDirect">
    /// False writes through the page cache, as on a file system without O_DIRECT: better for small files, where
    /// a direct write of one padded block costs a device round trip that the cache would have absorbed.
    /// </param>
    public static DirectFileWriter Create(string path, bool preferDirect = true)
    {
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        // Set after the open rather than passed to it: a file system that refuses O_DIRECT refuses it here with
        // EINVAL and leaves an ordinary descriptor, where open(O_DIRECT) could fail after creating the file.
        var flags = preferDirect ? LibC.Fcntl(handle, LibC.FGetFl, 0) : -1;
        var isDirect = flags >= 0 && LibC.Fcntl(handle, LibC.FSetFl, flags | DirectFlag) == 0;
        return new DirectFileWriter(handle, path, isDirect);
    }

    private static int DirectFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm
        ? 0x10000
        : 0x4000;

    public async ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (!IsDirect)
        {
            await RandomAccess.WriteAsync(_handle, data, _flushed, cancellationToken);
            _flushed += data.Length;
            return;
        }
        while (!data.IsEmpty)
        {
            if (_filling == 0)
            {
                _filling = RentBuffer();
            }
            var n = Math.Min(BufferSize - _used, data.Length);
            data.Span[..n].CopyTo(BufferSpan(_filling, _used, n));
            _used += n;
            data = data[n..];
            if (_used == BufferSize)
            {
                await StartWriteAsync(BufferSize, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Writes what is buffered and sets the exact length; with <paramref name="flushToDevice"/>, fsyncs too
    /// (a repository's files must survive a power cut before they are named; a restore's need not).
    /// </summary>
    public async Task CompleteAsync(bool flushToDevice, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (IsDirect)
        {
            var length = Length;
            if (_used > 0)
            {
                // The tail goes out padded to a whole block; the truncation below cuts the padding off.
                var padded = (_used + Alignment - 1) / Alignment * Alignment;
                BufferSpan(_filling, _used, padded - _used).Clear();
                await StartWriteAsync(padded, cancellationToken);
            }
            await WaitForPendingAsync();
            if (RandomAccess.GetLength(_handle) != length)
            {
                RandomAccess.SetLength(_handle, length);
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (flushToDevice)
        {
            await FlushToDeviceAsync(cancellationToken);
        }
        _completed = true;
        ReturnBuffers();
    }

    private Task FlushToDeviceAsync(CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            int result;
            do
            {
                result = LibC.Fsync(_handle);
            }
            while (result != 0 && Marshal.GetLastPInvokeError() == LibC.EINTR);
            if (result != 0)
            {
                throw Errors.FromErrno(Marshal.GetLastPInvokeError(), "fsync", _path);
            }
        }, cancellationToken);

    /// <summary>Sends the filling buffer's first <paramref name="length"/> bytes to the device in the background.</summary>
    private async Task StartWriteAsync(int length, CancellationToken cancellationToken)
    {
        // One write in flight: the other buffer fills meanwhile.
        await WaitForPendingAsync();
        cancellationToken.ThrowIfCancellationRequested();
        var buffer = _filling;
        var offset = _flushed;
        _filling = _writing;
        _writing = buffer;
        _flushed += _used;
        _used = 0;
        _pending = Task.Run(() => RandomAccess.Write(_handle, BufferSpan(buffer, 0, length), offset), CancellationToken.None);
    }

    private async Task WaitForPendingAsync()
    {
        if (_pending is { } pending)
        {
            _pending = null;
            await pending;
        }
    }

    private static unsafe Span<byte> BufferSpan(nint buffer, int offset, int length) =>
        new((byte*)buffer + offset, length);

    private static unsafe nint RentBuffer() => BufferPool.TryTake(out var pooled)
        ? pooled
        : (nint)NativeMemory.AlignedAlloc(BufferSize, Alignment);

    private static unsafe void ReturnBuffer(nint buffer)
    {
        if (buffer == 0)
        {
            return;
        }
        if (BufferPool.Count < PooledBuffers)
        {
            BufferPool.Add(buffer);
        }
        else
        {
            NativeMemory.AlignedFree((void*)buffer);
        }
    }

    private void ReturnBuffers()
    {
        ReturnBuffer(_filling);
        ReturnBuffer(_writing);
        _filling = 0;
        _writing = 0;
    }

    /// <summary>Closes the file (complete or not); the caller decides whether it stays.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            // A write still running owns its buffer; wait for it (its failure no longer matters).
            if (_pending is { } pending)
            {
                _pending = null;
                await pending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            _completed = true;
            ReturnBuffers();
            _handle.Dispose();
        }
    }
}
