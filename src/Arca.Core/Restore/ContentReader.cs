using Arca.Repo;
using Arca.Storage;

namespace Arca.Restore;

/// <summary>
/// An entry's content as a forward-only stream: its blobs loaded in order (each checked against its id by
/// the loader), a few ahead of the reader so that decryption overlaps with whoever consumes the bytes.
/// </summary>
public sealed class ContentReader : ReadOnlyStream
{
    private const int Ahead = 3;
    private readonly IBlobLoader _loader;
    private readonly IReadOnlyList<BlobId> _blobs;
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<Task<PooledBlob>> _loading = new();
    private int _next;
    private PooledBlob? _current;
    private int _offset;
    private long _position;
    private bool _disposed;

    public ContentReader(IBlobLoader loader, IReadOnlyList<BlobId> blobs)
    {
        _loader = loader;
        _blobs = blobs;
    }

    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer) => throw new NotSupportedException("ContentReader is read asynchronously.");

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_current is { } blob && _offset < blob.Length)
            {
                var n = Math.Min(buffer.Length, blob.Length - _offset);
                blob.Memory.Slice(_offset, n).CopyTo(buffer);
                _offset += n;
                _position += n;
                return n;
            }
            _current?.Dispose();
            _current = null;
            while (_loading.Count < Ahead && _next < _blobs.Count)
            {
                var id = _blobs[_next++];
                _loading.Enqueue(Task.Run(() => _loader.LoadPooledBlobAsync(id, _stop.Token), CancellationToken.None));
            }
            if (_loading.Count == 0)
            {
                return 0;
            }
            _current = await _loading.Dequeue().WaitAsync(cancellationToken);
            _offset = 0;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await _stop.CancelAsync();
        _current?.Dispose();
        _current = null;
        while (_loading.TryDequeue(out var task))
        {
            try
            {
                (await task).Dispose();
            }
            catch (Exception)
            {
                // A load abandoned with the stream: its failure has no reader left to tell.
            }
        }
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _stop.Cancel();
            _stop.Dispose();
            _current?.Dispose();
            _current = null;
        }
        base.Dispose(disposing);
    }
}
