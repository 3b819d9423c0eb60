using System.Buffers;

namespace Arca.Repo.Chunking;

/// <summary>
/// Splits a stream into content-defined chunks. Owns a pooled buffer of at least twice MaxSize;
/// each chunk returned by <see cref="NextAsync"/> points into it and is valid only until the next
/// call (or <see cref="Dispose"/>). Does not dispose the source stream.
/// </summary>
public sealed class StreamChunker : IDisposable
{
    private readonly Stream _source;
    private readonly Chunker _chunker;
    private readonly int _maxSize;
    private byte[]? _buffer;
    private int _start;
    private int _end;
    private bool _endOfStream;

    private readonly ArrayPool<byte> _pool;

    public StreamChunker(Stream source, Chunker chunker) : this(source, chunker, ArrayPool<byte>.Shared)
    {
    }

    /// <param name="pool">Where the buffer comes from; the backup passes a process-wide bounded pool.</param>
    public StreamChunker(Stream source, Chunker chunker, ArrayPool<byte> pool)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(chunker);
        _source = source;
        _chunker = chunker;
        _maxSize = chunker.Parameters.MaxSize;
        _pool = pool;
        _buffer = pool.Rent(checked(_maxSize * 2));
    }

    /// <summary>
    /// Returns the next chunk, or null at the end of the stream (an empty stream yields no chunks).
    /// The memory is only valid until the next call.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>?> NextAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        cancellationToken.ThrowIfCancellationRequested();
        var buffer = _buffer;

        // Keep at least MaxSize bytes ahead (except at the end) so FindBoundary never asks for more
        // and each byte is scanned exactly once.
        if (!_endOfStream && _end - _start < _maxSize)
        {
            await FillAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        var available = _end - _start;
        if (available == 0)
        {
            return null;
        }

        var length = _chunker.FindBoundary(buffer.AsSpan(_start, available), _endOfStream);
        if (length <= 0)
        {
            throw new InvalidOperationException($"The chunker returned {length} with {available} bytes buffered.");
        }

        var chunk = new ReadOnlyMemory<byte>(buffer, _start, length);
        _start += length;
        return chunk;
    }

    private async ValueTask FillAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        // Move the unconsumed tail (less than MaxSize bytes) to the front, then read until the
        // buffer is full or the stream ends: at least MaxSize bytes of room, whatever the short reads.
        var remaining = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(buffer, _start, buffer, 0, remaining);
            _start = 0;
            _end = remaining;
        }

        while (_end < buffer.Length)
        {
            var read = await _source.ReadAsync(buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _endOfStream = true;
                return;
            }

            _end += read;
        }
    }

    public void Dispose()
    {
        var buffer = _buffer;
        if (buffer is not null)
        {
            _buffer = null;
            _pool.Return(buffer);
        }
    }
}
