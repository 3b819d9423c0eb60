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
/// and against blobs already in flight, compressed (or kept raw) and sealed in one pooled scratch buffer,
/// and appended to the open pack, which the storage stages (in place for a local folder, in a temporary
/// file for an object store), so a pack never sits in memory whole. A full pack gets its trailer and is
/// committed under the SHA-256 of its bytes while the next one fills; at most <c>maxUploads</c> commits run
/// at once, and a writer that finds them all busy waits, which bounds what is staged whatever the input.
/// Every <see cref="IndexEvery"/> packs an index file is written, so a crash keeps what was indexed;
/// packs written after the last index file are unreferenced and removed by prune.
/// Trees go into packs of their own, as restic keeps them: whatever walks snapshots without their content
/// (a restore's plan, prune, check, ls, diff) then reads a few packs of nothing but trees, rather than a
/// window of file content around every tree, which on remote storage is most of a walk's bytes and requests.
/// </summary>
internal sealed class PackSaver
{
    public const int IndexEvery = 64;

    private readonly IStorage _storage;
    private readonly MasterKey _key;
    private readonly BlobIndex _index;
    private readonly int _packSize;
    private readonly int _compressionLevel;
    private readonly bool _writeIndex;
    private readonly PackCache? _cache;
    private readonly ConcurrentDictionary<BlobId, byte> _inFlight = new();
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private readonly SemaphoreSlim _uploadSlots;
    private readonly List<Task> _uploads = [];
    private readonly List<IndexFile.PackBlobs> _unindexed = [];
    // The pack being filled for each kind of blob: [0] content, [1] trees.
    private readonly OpenPack?[] _open = new OpenPack?[2];
    private Exception? _failure;

    private sealed class OpenPack(IStagedFile file, MemoryStream? copy) : IAsyncDisposable
    {
        public IStagedFile File { get; } = file;
        /// <summary>The pack's bytes, kept for the cache (tree packs of a repository with one).</summary>
        public MemoryStream? Copy { get; } = copy;
        public IncrementalHash Hash { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public List<BlobEntry> Entries { get; } = [];

        public async ValueTask DisposeAsync()
        {
            Hash.Dispose();
            await File.DisposeAsync();
        }
    }

    /// <param name="writeIndex">
    /// False for prune's repacking, which writes the whole new index itself: its packs stay unreferenced (and
    /// are removed by the next prune) if it stops before that.
    /// </param>
    /// <param name="cache">Where a copy of each tree pack goes once it is committed.</param>
    public PackSaver(IStorage storage, MasterKey key, BlobIndex index, int packSize, int compressionLevel, int maxUploads,
        bool writeIndex = true, PackCache? cache = null)
    {
        _cache = cache;
        _writeIndex = writeIndex;
        _storage = storage;
        _key = key;
        _index = index;
        _packSize = packSize;
        _compressionLevel = compressionLevel;
        _uploadSlots = new SemaphoreSlim(Math.Max(1, maxUploads));
    }

    public long BlobsAdded;
    public long BytesAdded;
    public long BytesAddedStored;

    /// <summary>
    /// Stores a blob unless the repository has it already. Returns true if it was new. The id must be the
    /// keyed hash of <paramref name="plaintext"/> (callers compute it, since they need it anyway).
    /// </summary>
    public ValueTask<bool> SaveAsync(BlobType type, BlobId id, ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken) =>
        SaveAsync(type, id, plaintext, _compressionLevel, cancellationToken);

    /// <summary>The same at another compression level; a repository that stores uncompressed (level 0) stays so.</summary>
    public async ValueTask<bool> SaveAsync(BlobType type, BlobId id, ReadOnlyMemory<byte> plaintext, int compressionLevel, CancellationToken cancellationToken)
    {
        var level = _compressionLevel == 0 ? 0 : compressionLevel;
        ThrowIfFailed();
        if (_index.Contains(id) || !_inFlight.TryAdd(id, 0))
        {
            return false;
        }
        // One buffer for the whole blob: compressed (or copied raw) to just after the nonce, then sealed in place.
        var work = BufferPool.Shared.Rent(Sealer.SealedLength(plaintext.Length));
        try
        {
            var body = work.AsSpan(Sealer.NonceSize, BlobCompressor.MaxCompressedLength(plaintext.Length));
            var n = level > 0 ? BlobCompressor.TryCompress(plaintext.Span, body, level) : -1;
            var compressed = n >= 0;
            if (!compressed)
            {
                plaintext.Span.CopyTo(work.AsSpan(Sealer.NonceSize));
                n = plaintext.Length;
            }
            var sealedLength = _key.SealBlob(work, n, id);
            await AppendAsync(new BlobEntry(id, type, compressed, 0, (uint)sealedLength, (uint)plaintext.Length),
                work.AsMemory(0, sealedLength), cancellationToken);
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
            BufferPool.Shared.Return(work);
        }
    }

    /// <summary>
    /// Stores a blob that is already sealed (prune copies blobs between packs as they are, after checking them),
    /// unless this saver's index has it. Returns true if it was new.
    /// </summary>
    public async ValueTask<bool> SaveSealedAsync(BlobEntry entry, ReadOnlyMemory<byte> sealedBlob, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_index.Contains(entry.Id) || !_inFlight.TryAdd(entry.Id, 0))
        {
            return false;
        }
        try
        {
            await AppendAsync(entry with { Offset = 0, StoredLength = (uint)sealedBlob.Length }, sealedBlob, cancellationToken);
        }
        catch
        {
            _inFlight.TryRemove(entry.Id, out _);
            throw;
        }
        Interlocked.Increment(ref BlobsAdded);
        Interlocked.Add(ref BytesAdded, entry.RawLength);
        Interlocked.Add(ref BytesAddedStored, sealedBlob.Length);
        return true;
    }

    /// <summary>Appends a sealed blob to the open pack of its kind, starting a new pack when it would overflow.</summary>
    private async Task AppendAsync(BlobEntry entry, ReadOnlyMemory<byte> sealedBlob, CancellationToken cancellationToken)
    {
        var slot = entry.Type == BlobType.Tree ? 1 : 0;
        await _appendLock.WaitAsync(cancellationToken);
        try
        {
            if (_open[slot] is { } current && current.File.Length + sealedBlob.Length > _packSize)
            {
                _open[slot] = null;
                await StartUploadAsync(current, cancellationToken);
            }
            var pack = _open[slot] ??= new OpenPack(await _storage.StageAsync(StorageKind.Pack, cancellationToken),
                slot == 1 && _cache is not null ? new MemoryStream() : null);
            pack.Entries.Add(entry with { Offset = (uint)pack.File.Length });
            pack.Hash.AppendData(sealedBlob.Span);
            pack.Copy?.Write(sealedBlob.Span);
            await pack.File.AppendAsync(sealedBlob, cancellationToken);
            if (pack.File.Length >= _packSize)
            {
                // Full, or one blob larger than a pack (a tree of a huge folder): it goes alone.
                _open[slot] = null;
                await StartUploadAsync(pack, cancellationToken);
            }
        }
        catch (Exception ex)
        {
            // A pack that failed half-way is dropped with the blobs already in it, whose savers were told they
            // were stored: the whole save fails from here on, so no snapshot can refer to them.
            if (_open[slot] is { } broken)
            {
                _open[slot] = null;
                _failure ??= ex;
                await broken.DisposeAsync();
            }
            throw;
        }
        finally
        {
            _appendLock.Release();
        }
    }

    private async Task StartUploadAsync(OpenPack pack, CancellationToken cancellationToken)
    {
        try
        {
            await _uploadSlots.WaitAsync(cancellationToken);
        }
        catch
        {
            await pack.DisposeAsync();
            throw;
        }
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
                await pack.DisposeAsync();
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
        var trailer = PackTrailer.Encode(_key.Sealer, pack.Entries);
        pack.Hash.AppendData(trailer);
        await pack.File.AppendAsync(trailer, cancellationToken);
        var id = new PackId(new Hash256(pack.Hash.GetHashAndReset()));
        await pack.File.CommitAsync(new StorageKey(StorageKind.Pack, id.ToString()), cancellationToken);
        if (pack.Copy is { } copy)
        {
            copy.Write(trailer);
            _cache?.Add(id, copy.GetBuffer().AsSpan(0, (int)copy.Length));
        }
        _index.AddPack(id, pack.Entries);
        foreach (var entry in pack.Entries)
        {
            _inFlight.TryRemove(entry.Id, out _);
        }
        if (!_writeIndex)
        {
            return;
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

    /// <summary>Uploads the open packs, waits for every upload, and writes an index file for what is not yet indexed.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _appendLock.WaitAsync(cancellationToken);
        try
        {
            for (var slot = 0; slot < _open.Length; slot++)
            {
                if (_open[slot] is { } last)
                {
                    _open[slot] = null;
                    await StartUploadAsync(last, cancellationToken);
                }
            }
        }
        finally
        {
            _appendLock.Release();
        }
        await Task.WhenAll(TakeUploads());
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

    /// <summary>
    /// Drops the packs being filled, if any (their staged bytes are deleted), and waits for the uploads that are
    /// running. For a backup that failed or was cancelled; what was committed stays, unreferenced until prune.
    /// </summary>
    public async Task DiscardAsync()
    {
        await _appendLock.WaitAsync(CancellationToken.None);
        try
        {
            for (var slot = 0; slot < _open.Length; slot++)
            {
                if (_open[slot] is { } open)
                {
                    _open[slot] = null;
                    await open.DisposeAsync();
                }
            }
        }
        finally
        {
            _appendLock.Release();
        }
        await Task.WhenAll(TakeUploads()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>The uploads started so far, which the caller now waits for.</summary>
    private Task[] TakeUploads()
    {
        lock (_uploads)
        {
            Task[] pending = [.. _uploads];
            _uploads.Clear();
            return pending;
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
