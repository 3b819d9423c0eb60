using System.Buffers;

namespace Arca.Repo.Chunking;

/// <summary>
/// Splits a stream into content-defined chunks. Owns a pooled buffer of twice the average chunk size,
/// grown to MaxSize only when a chunk runs past it (rare, so most readers hold a quarter of what a
/// MaxSize buffer would); each chunk returned by <see cref="NextAsync"/> points into it and is valid only until the next
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
        // A refill happens only when the chunker asks for more, so the tail moved to the front is at most one
        // unfinished chunk, and memory stays about one chunk per reader.
        _buffer = pool.Rent(Math.Min(_maxSize, 2 * chunker.Parameters.AverageSize));
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

        while (true)
        {
            var available = _end - _start;
            if (available == 0)
            {
                if (_endOfStream)
                {
                    return null;
                }
                await FillAsync(buffer, cancellationToken).ConfigureAwait(false);
                continue;
            }
            // -1 means "no cut before the end of what is buffered": refill (the buffer then holds at
            // least MaxSize bytes or the rest of the stream, so the next call always cuts).
            var length = _chunker.FindBoundary(buffer.AsSpan(_start, available), _endOfStream);
            if (length > 0)
            {
                var chunk = new ReadOnlyMemory<byte>(buffer, _start, length);
                _start += length;
                return chunk;
            }
            if (_start == 0 && _end == buffer.Length && buffer.Length < _maxSize)
            {
                buffer = Grow();
            }
            else if (_endOfStream || (_start == 0 && _end == buffer.Length))
            {
                throw new InvalidOperationException($"The chunker returned {length} with {available} bytes buffered.");
            }
            await FillAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A chunk is longer than the buffer: move to one of MaxSize, keeping what is buffered.</summary>
    private byte[] Grow()
    {
        var old = _buffer!;
        var bigger = _pool.Rent(_maxSize);
        Buffer.BlockCopy(old, 0, bigger, 0, _end);
        _buffer = bigger;
        _pool.Return(old);
        return bigger;
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
