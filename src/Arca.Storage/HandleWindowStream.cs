using Microsoft.Win32.SafeHandles;

namespace Arca.Storage;

/// <summary>
/// A read-only, seekable view of <c>length</c> bytes at <c>offset</c> of an open file, read with positional
/// reads (pread), so many readers can share one handle at once and none moves another's position.
/// </summary>
internal sealed class HandleWindowStream(SafeFileHandle handle, long offset, long length) : ReadOnlyStream
{
    private long _position;

    public override bool CanSeek => true;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => length + offset,
    };

    public override int Read(Span<byte> buffer)
    {
        var want = (int)Math.Min(buffer.Length, length - _position);
        if (want <= 0)
        {
            return 0;
        }
        var n = RandomAccess.Read(handle, buffer[..want], offset + _position);
        _position += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var want = (int)Math.Min(buffer.Length, length - _position);
        if (want <= 0)
        {
            return 0;
        }
        var n = await RandomAccess.ReadAsync(handle, buffer[..want], offset + _position, cancellationToken);
        _position += n;
        return n;
    }
}
