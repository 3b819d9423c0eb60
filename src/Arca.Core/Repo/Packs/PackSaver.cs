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
/// and against blobs already in flight, compressed (or kept raw) into a pooled scratch buffer, and sealed
/// straight into the open pack's buffer. A full pack gets its trailer and is uploaded under the SHA-256
/// of its bytes while the next one fills. Pack buffers are a fixed set of <c>maxUploads</c> arrays,
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
        // One pack filling while the others upload: with maxUploads 2, two 16 MiB buffers in all.
        _freeBufferCount = new SemaphoreSlim(Math.Max(2, maxUploads));
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
        var compressBuffer = _compressionLevel > 0 ? pool.Rent(BlobCompressor.MaxCompressedLength(plaintext.Length)) : null;
        try
        {
            var n = compressBuffer is null ? -1 : BlobCompressor.TryCompress(plaintext.Span, compressBuffer, _compressionLevel);
            var compressed = n >= 0;
            var payload = compressed ? compressBuffer.AsMemory(0, n) : plaintext;
            var sealedLength = Sealer.SealedLength(payload.Length);
            await AppendAsync(new BlobEntry(id, type, compressed, 0, (uint)sealedLength, (uint)plaintext.Length), payload, cancellationToken);
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
            if (compressBuffer is not null)
            {
                pool.Return(compressBuffer);
            }
        }
    }

    /// <summary>Seals <paramref name="payload"/> straight into the open pack (AES-GCM is fast enough to run under the lock).</summary>
    private async Task AppendAsync(BlobEntry entry, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var sealedLength = (int)entry.StoredLength;
        await _appendLock.WaitAsync(cancellationToken);
        try
        {
            if (_open is { } current && current.Length + sealedLength > current.Buffer.Length)
            {
                _open = null;
                StartUpload(current);
            }
            if (sealedLength > _packSize)
            {
                // A blob larger than a pack (a tree of a huge folder) gets a pack of its own.
                var alone = new OpenPack(new byte[sealedLength], pooled: false);
                Add(alone, entry, payload.Span);
                StartUpload(alone);
                return;
            }
            _open ??= new OpenPack(await RentPackBufferAsync(cancellationToken), pooled: true);
            Add(_open, entry, payload.Span);
        }
        finally
        {
            _appendLock.Release();
        }
    }

    private void Add(OpenPack pack, BlobEntry entry, ReadOnlySpan<byte> payload)
    {
        var written = _key.Sealer.Seal(payload, pack.Buffer.AsSpan(pack.Length));
        pack.Entries.Add(entry with { Offset = (uint)pack.Length });
        pack.Length += written;
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
