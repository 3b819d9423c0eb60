namespace Arca.Repo;

/// <summary>A blob's plaintext in a pooled buffer; dispose it to give the buffer back.</summary>
public readonly struct PooledBlob : IDisposable
{
    private readonly byte[] _buffer;

    public PooledBlob(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    public void Dispose() => BufferPool.Shared.Return(_buffer);
}
