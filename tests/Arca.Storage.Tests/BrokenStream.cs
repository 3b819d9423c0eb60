namespace Arca.Storage.Tests;

/// <summary>A readable stream that gives some bytes and then fails, like a source file on a dying disk.</summary>
internal sealed class BrokenStream(int goodBytes = 1000) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_position >= goodBytes)
        {
            throw new IOException("The source broke.");
        }
        var n = Math.Min(count, goodBytes - _position);
        Array.Fill(buffer, (byte)7, offset, n);
        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
