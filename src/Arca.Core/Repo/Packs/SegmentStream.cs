namespace Arca.Repo.Packs;

/// <summary>
/// A seekable read-only stream over a list of buffers, so a pack is uploaded straight from the sealed
/// blobs it is made of, without copying them into one array first.
/// </summary>
internal sealed class SegmentStream : Stream
{
    private readonly IReadOnlyList<ReadOnlyMemory<byte>> _segments;
    private readonly long _length;
    private long _position;
    private int _segment;
    private int _offsetInSegment;

    public SegmentStream(IReadOnlyList<ReadOnlyMemory<byte>> segments)
    {
        _segments = segments;
        foreach (var s in segments)
        {
            _length += s.Length;
        }
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set
        {
            if (value < 0 || value > _length)
            {
                throw new ArgumentOutOfRangeException(nameof(value));
            }
            _position = value;
            _segment = 0;
            var rest = value;
            while (_segment < _segments.Count && rest >= _segments[_segment].Length && (rest > 0 || _segments[_segment].Length == 0))
            {
                rest -= _segments[_segment].Length;
                _segment++;
            }
            _offsetInSegment = (int)rest;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var total = 0;
        while (buffer.Length > 0 && _segment < _segments.Count)
        {
            var source = _segments[_segment].Span[_offsetInSegment..];
            var n = Math.Min(source.Length, buffer.Length);
            source[..n].CopyTo(buffer);
            buffer = buffer[n..];
            total += n;
            _offsetInSegment += n;
            if (_offsetInSegment == _segments[_segment].Length)
            {
                _segment++;
                _offsetInSegment = 0;
            }
        }
        _position += total;
        return total;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        // Hand whole segments to the destination: no intermediate buffer.
        while (_segment < _segments.Count)
        {
            var rest = _segments[_segment][_offsetInSegment..];
            await destination.WriteAsync(rest, cancellationToken);
            _position += rest.Length;
            _segment++;
            _offsetInSegment = 0;
        }
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return _position;
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
