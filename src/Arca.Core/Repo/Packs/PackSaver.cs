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
/// and against blobs already in flight, compressed (or kept raw), sealed, and appended to the open pack.
/// A full pack gets its trailer and is uploaded under the SHA-256 of its bytes while the next one fills;
/// at most <c>maxUploads</c> packs are in flight, which bounds memory. Every <see cref="IndexEvery"/>
/// packs an index file is written, so a crash keeps what was indexed; packs written after the last index
/// file are unreferenced and removed by prune.
/// </summary>
internal sealed class PackSaver
{
    public const int IndexEvery = 64;

    private readonly IStorage _storage;
    private readonly MasterKey _key;
    private readonly BlobIndex _index;
    private readonly int _packSize;
    private readonly int _compressionLevel;
    private readonly SemaphoreSlim _uploadSlots;
    private readonly ConcurrentDictionary<BlobId, byte> _inFlight = new();
    private readonly Lock _packLock = new();
    private readonly List<Task> _uploads = [];
    private readonly List<IndexFile.PackBlobs> _unindexed = [];
    private readonly List<Hash256> _indexFilesWritten = [];
    private OpenPack _open = new();
    private Exception? _failure;

    private sealed class OpenPack
    {
        public List<BlobEntry> Entries { get; } = [];
        public List<byte[]> Buffers { get; } = [];
        public List<ReadOnlyMemory<byte>> Segments { get; } = [];
        public uint Length { get; set; }
    }

    public PackSaver(IStorage storage, MasterKey key, BlobIndex index, int packSize, int compressionLevel, int maxUploads)
    {
        _storage = storage;
        _key = key;
        _index = index;
        _packSize = packSize;
        _compressionLevel = compressionLevel;
        _uploadSlots = new SemaphoreSlim(maxUploads);
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
        var sealedBuffer = Encode(plaintext.Span, out var sealedLength, out var compressed);
        OpenPack? full = null;
        lock (_packLock)
        {
            _open.Entries.Add(new BlobEntry(id, type, compressed, _open.Length, (uint)sealedLength, (uint)plaintext.Length));
            _open.Buffers.Add(sealedBuffer);
            _open.Segments.Add(sealedBuffer.AsMemory(0, sealedLength));
            _open.Length += (uint)sealedLength;
            if (_open.Length >= _packSize)
            {
                full = _open;
                _open = new OpenPack();
            }
        }
        Interlocked.Increment(ref BlobsAdded);
        Interlocked.Add(ref BytesAdded, plaintext.Length);
        Interlocked.Add(ref BytesAddedStored, sealedLength);
        if (full is not null)
        {
            await StartUploadAsync(full, cancellationToken);
        }
        return true;
    }

    private byte[] Encode(ReadOnlySpan<byte> plaintext, out int sealedLength, out bool compressed)
    {
        var pool = ArrayPool<byte>.Shared;
        var compressBuffer = pool.Rent(BlobCompressor.MaxCompressedLength(plaintext.Length));
        try
        {
            var n = _compressionLevel > 0 ? BlobCompressor.TryCompress(plaintext, compressBuffer, _compressionLevel) : -1;
            compressed = n >= 0;
            var payload = compressed ? compressBuffer.AsSpan(0, n) : plaintext;
            var sealedBuffer = pool.Rent(Sealer.SealedLength(payload.Length));
            sealedLength = _key.Sealer.Seal(payload, sealedBuffer);
            return sealedBuffer;
        }
        finally
        {
            pool.Return(compressBuffer);
        }
    }

    private async Task StartUploadAsync(OpenPack pack, CancellationToken cancellationToken)
    {
        await _uploadSlots.WaitAsync(cancellationToken);
        var upload = Task.Run(async () =>
        {
            try
            {
                await UploadAsync(pack, cancellationToken);
            }
            catch (Exception ex)
            {
                _failure ??= ex;
            }
            finally
            {
                foreach (var buffer in pack.Buffers)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                _uploadSlots.Release();
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
        pack.Segments.Add(PackTrailer.Encode(_key.Sealer, pack.Entries));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var segment in pack.Segments)
        {
            hash.AppendData(segment.Span);
        }
        var id = new PackId(new Hash256(hash.GetHashAndReset()));
        await using (var stream = new SegmentStream(pack.Segments))
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
        lock (_indexFilesWritten)
        {
            _indexFilesWritten.Add(name);
        }
    }

    /// <summary>Uploads the open pack, waits for every upload, and writes an index file for what is not yet indexed.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        OpenPack? last = null;
        lock (_packLock)
        {
            if (_open.Entries.Count > 0)
            {
                last = _open;
                _open = new OpenPack();
            }
        }
        if (last is not null)
        {
            await StartUploadAsync(last, cancellationToken);
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
