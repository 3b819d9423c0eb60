using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Arca.Repo.Compression;
using Arca.Repo.Crypto;
using Arca.Repo.Format;
using Arca.Repo.Index;
using Arca.Storage;

namespace Arca.Repo.Packs;

/// <summary>
/// Turns blobs into packs. Callers on any thread hand in a blob; it is deduplicated against the index
/// and against blobs already in flight, compressed (or kept raw) and sealed into pooled scratch buffers,
/// then copied into the open pack's buffer. A full pack gets its trailer and is uploaded under the SHA-256
/// of its bytes while the next one fills. Pack buffers are a fixed set of <c>maxUploads + 1</c> arrays,
/// reused: a writer that finds them all uploading waits, which bounds memory whatever the input.
/// Every <see cref="IndexEvery"/> packs an index file is written, so a crash keeps what was indexed;
/// packs written after the last index file are unreferenced and removed by prune.
/// </summary>
internal sealed class PackSaver
{
    public const int IndexEvery = 64;

    private readonly IStorage _storage;
    private readonly MasterKey _key;
    private readonly BlobIndex _index;
    private readonly int _packSize;
    private readonly int _compressionLevel;
    private readonly ConcurrentDictionary<BlobId, byte> _inFlight = new();
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private readonly SemaphoreSlim _freeBufferCount;
    private readonly ConcurrentQueue<byte[]> _freeBuffers = new();
    private readonly List<Task> _uploads = [];
    private readonly List<IndexFile.PackBlobs> _unindexed = [];
    private OpenPack? _open;
    private Exception? _failure;

    private sealed class OpenPack(byte[] buffer, bool pooled)
    {
        public byte[] Buffer { get; } = buffer;
        public bool Pooled { get; } = pooled;
        public List<BlobEntry> Entries { get; } = [];
        public int Length { get; set; }
    }

    public PackSaver(IStorage storage, MasterKey key, BlobIndex index, int packSize, int compressionLevel, int maxUploads)
    {
        _storage = storage;
        _key = key;
        _index = index;
        _packSize = packSize;
        _compressionLevel = compressionLevel;
        _freeBufferCount = new SemaphoreSlim(maxUploads + 1);
    }

    public long BlobsAdded;
    public long BytesAdded;
    public long BytesAddedStored;

    /// <summary>
    /// Stores a blob unless the repository has it already. Returns true if it was new. The id must be the
    /// keyed hash of <paramref name="plaintext"/> (callers compute it, since they need it anyway).
    /// </summary>
    public async ValueTask<bool> SaveAsync(BlobType type, BlobId id, ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_index.Contains(id) || !_inFlight.TryAdd(id, 0))
        {
            return false;
        }
        var pool = BufferPool.Shared;
        var compressBuffer = pool.Rent(BlobCompressor.MaxCompressedLength(plaintext.Length));
        byte[]? sealedBuffer = null;
        try
        {
            var n = _compressionLevel > 0 ? BlobCompressor.TryCompress(plaintext.Span, compressBuffer, _compressionLevel) : -1;
            var compressed = n >= 0;
            var payload = compressed ? compressBuffer.AsMemory(0, n) : plaintext;
            sealedBuffer = pool.Rent(Sealer.SealedLength(payload.Length));
            var sealedLength = _key.Sealer.Seal(payload.Span, sealedBuffer);
            await AppendAsync(new BlobEntry(id, type, compressed, 0, (uint)sealedLength, (uint)plaintext.Length),
                sealedBuffer.AsMemory(0, sealedLength), cancellationToken);
            Interlocked.Increment(ref BlobsAdded);
            Interlocked.Add(ref BytesAdded, plaintext.Length);
            Interlocked.Add(ref BytesAddedStored, sealedLength);
            return true;
        }
        catch
        {
            _inFlight.TryRemove(id, out _);
            throw;
        }
        finally
        {
            pool.Return(compressBuffer);
            if (sealedBuffer is not null)
            {
                pool.Return(sealedBuffer);
            }
        }
    }

    private async Task AppendAsync(BlobEntry entry, ReadOnlyMemory<byte> sealedBytes, CancellationToken cancellationToken)
    {
        await _appendLock.WaitAsync(cancellationToken);
        try
        {
            if (_open is { } current && current.Length + sealedBytes.Length > current.Buffer.Length)
            {
                _open = null;
                StartUpload(current);
            }
            if (sealedBytes.Length > _packSize)
            {
                // A blob larger than a pack (a tree of a huge folder) gets a pack of its own.
                var alone = new OpenPack(new byte[sealedBytes.Length], pooled: false);
                Add(alone, entry, sealedBytes);
                StartUpload(alone);
                return;
            }
            _open ??= new OpenPack(await RentPackBufferAsync(cancellationToken), pooled: true);
            Add(_open, entry, sealedBytes);
        }
        finally
        {
            _appendLock.Release();
        }
    }

    private static void Add(OpenPack pack, BlobEntry entry, ReadOnlyMemory<byte> sealedBytes)
    {
        sealedBytes.Span.CopyTo(pack.Buffer.AsSpan(pack.Length));
        pack.Entries.Add(entry with { Offset = (uint)pack.Length });
        pack.Length += sealedBytes.Length;
    }

    private async Task<byte[]> RentPackBufferAsync(CancellationToken cancellationToken)
    {
        await _freeBufferCount.WaitAsync(cancellationToken);
        return _freeBuffers.TryDequeue(out var buffer) ? buffer : new byte[_packSize];
    }

    private void StartUpload(OpenPack pack)
    {
        var upload = Task.Run(async () =>
        {
            try
            {
                await UploadAsync(pack, CancellationToken.None);
            }
            catch (Exception ex)
            {
                _failure ??= ex;
            }
            finally
            {
                if (pack.Pooled)
                {
                    _freeBuffers.Enqueue(pack.Buffer);
                    _freeBufferCount.Release();
                }
            }
        }, CancellationToken.None);
        lock (_uploads)
        {
            _uploads.RemoveAll(t => t.IsCompleted);
            _uploads.Add(upload);
        }
    }

    private async Task UploadAsync(OpenPack pack, CancellationToken cancellationToken)
    {
        var body = pack.Buffer.AsMemory(0, pack.Length);
        var trailer = PackTrailer.Encode(_key.Sealer, pack.Entries);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(body.Span);
        hash.AppendData(trailer);
        var id = new PackId(new Hash256(hash.GetHashAndReset()));
        await using (var stream = new SegmentStream([body, trailer]))
        {
            await _storage.PutAsync(new StorageKey(StorageKind.Pack, id.ToString()), stream, cancellationToken);
        }
        _index.AddPack(id, pack.Entries);
        foreach (var entry in pack.Entries)
        {
            _inFlight.TryRemove(entry.Id, out _);
        }
        List<IndexFile.PackBlobs>? toIndex = null;
        lock (_unindexed)
        {
            _unindexed.Add(new IndexFile.PackBlobs(id, pack.Entries));
            if (_unindexed.Count >= IndexEvery)
            {
                toIndex = [.. _unindexed];
                _unindexed.Clear();
            }
        }
        if (toIndex is not null)
        {
            await WriteIndexAsync(toIndex, cancellationToken);
        }
    }

    private async Task WriteIndexAsync(List<IndexFile.PackBlobs> packs, CancellationToken cancellationToken)
    {
        var bytes = SealedFile.Encode(_key.Sealer, new IndexFile([], packs).Encode(), compress: true);
        var name = new Hash256(SHA256.HashData(bytes));
        await _storage.PutBytesAsync(new StorageKey(StorageKind.Index, name.ToString()), bytes, cancellationToken);
    }

    /// <summary>Uploads the open pack, waits for every upload, and writes an index file for what is not yet indexed.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _appendLock.WaitAsync(cancellationToken);
        try
        {
            if (_open is { } last)
            {
                _open = null;
                StartUpload(last);
            }
        }
        finally
        {
            _appendLock.Release();
        }
        Task[] pending;
        lock (_uploads)
        {
            pending = [.. _uploads];
            _uploads.Clear();
        }
        await Task.WhenAll(pending);
        ThrowIfFailed();
        List<IndexFile.PackBlobs> rest;
        lock (_unindexed)
        {
            rest = [.. _unindexed];
            _unindexed.Clear();
        }
        if (rest.Count > 0)
        {
            await WriteIndexAsync(rest, cancellationToken);
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }
}
