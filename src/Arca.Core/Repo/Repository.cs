using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using Arca.Repo.Chunking;
using Arca.Repo.Compression;
using Arca.Repo.Crypto;
using Arca.Repo.Format;
using Arca.Repo.Index;
using Arca.Repo.Packs;
using Arca.Storage;
using Arca.Trees;

namespace Arca.Repo;

/// <summary>
/// An open repository: storage plus the master key, settings and (once loaded) the blob index.
/// Engines take the narrow role interfaces it implements, not this class.
/// </summary>
public sealed class Repository : IBlobLoader, IBlobSaver, ITreeLoader, ISnapshotStore, IAsyncDisposable
{
    private static readonly StorageKey ConfigKey = new(StorageKind.Config, "config");
    private PackSaver? _saver;
    private PackWindowReader? _windows;
    private readonly Lock _saverLock = new();

    private Repository(IStorage storage, MasterKey key, string id, RepositorySettings settings, string keyName)
    {
        Storage = storage;
        Key = key;
        Id = id;
        Settings = settings;
        KeyName = keyName;
        Chunker = new Chunker(new ChunkerParameters(settings.ChunkerMin, settings.ChunkerAverage, settings.ChunkerMax),
            GearTable.FromSeed(settings.GearSeed));
    }

    public IStorage Storage { get; }
    public MasterKey Key { get; }
    public string Id { get; }
    public RepositorySettings Settings { get; }
    /// <summary>The key file this repository was opened with.</summary>
    public string KeyName { get; }
    public Chunker Chunker { get; }
    public BlobIndex Index { get; } = new();
    /// <summary>The index files in force, read by <see cref="LoadIndexAsync"/>, by name (for check and prune).</summary>
    public List<(string Name, IndexFile File)> IndexFiles { get; } = [];

    /// <summary>Index files still stored but superseded by another (a prune stopped before deleting them).</summary>
    public List<string> SupersededIndexFiles { get; } = [];

    /// <summary>The local copies of tree packs, for a remote repository opened with a cache.</summary>
    public PackCache? Cache { get; private set; }

    /// <summary>Reads trees of a remote repository through <paramref name="cache"/> and adds the tree packs it writes. Call before the first read or write.</summary>
    public void UseCache(PackCache cache)
    {
        if (Storage.Properties.IsRemote)
        {
            Cache = cache;
        }
    }

    public static async Task<Repository> InitAsync(IStorage storage, string password, RepositoryOptions options,
        TimeProvider time, CancellationToken cancellationToken)
    {
        options.Validate();
        if (await storage.StatAsync(ConfigKey, cancellationToken) is not null)
        {
            throw new ArcaException(ErrorCode.RepositoryExists,
                $"There is a repository at {storage.Properties.Location} already; it was left untouched.",
                "Use it as it is, or choose another location for a new one.");
        }
        var key = MasterKey.Create();
        var keyName = await AddKeyAsync(storage, key, password, options.Kdf, time, cancellationToken);
        var settings = new RepositorySettings(options.Chunker.MinSize, options.Chunker.AverageSize, options.Chunker.MaxSize,
            RandomNumberGenerator.GetBytes(32), options.PackSize, options.CompressionLevel);
        var sealedSettings = SealedFile.Encode(key.Sealer, JsonSerializer.SerializeToUtf8Bytes(settings, FormatJson.Default.RepositorySettings), compress: false);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var config = new ConfigFile(FormatVersion.ConfigMagic, FormatVersion.Current, id, Convert.ToBase64String(sealedSettings));
        // The config is written last: a repository without one does not exist, so a crash mid-init leaves nothing that opens.
        await storage.PutBytesAsync(ConfigKey, JsonSerializer.SerializeToUtf8Bytes(config, FormatJson.Default.ConfigFile), cancellationToken);
        return new Repository(storage, key, id, settings, keyName);
    }

    /// <summary>Writes a key file that wraps <paramref name="key"/> under <paramref name="password"/>; returns its name.</summary>
    public static async Task<string> AddKeyAsync(IStorage storage, MasterKey key, string password, KdfParameters kdf,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var salt = RandomNumberGenerator.GetBytes(KeyWrapping.SaltSize);
        var derived = KeyWrapping.DeriveKey(password, salt, kdf);
        var file = new KeyFile(FormatVersion.KeyMagic, FormatVersion.Current, time.GetUtcNow(), Environment.MachineName,
            Environment.UserName, "argon2id", kdf.OpsLimit, kdf.MemLimit, salt, KeyWrapping.Wrap(key, derived));
        var bytes = JsonSerializer.SerializeToUtf8Bytes(file, FormatJson.Default.KeyFile);
        var name = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await storage.PutBytesAsync(new StorageKey(StorageKind.Key, name), bytes, cancellationToken);
        return name;
    }

    public static Task<Repository> OpenAsync(IStorage storage, string password, CancellationToken cancellationToken) =>
        OpenAsync(storage, password, hint: null, cancellationToken);

    /// <param name="hint">Where the key that opened this repository last time is remembered (<see cref="KeyHint"/>); null for none.</param>
    public static async Task<Repository> OpenAsync(IStorage storage, string password, KeyHint? hint, CancellationToken cancellationToken)
    {
        var remembered = hint?.Read();
        // On another core while the requests below go out; its key is used only once they confirm the copy it came from.
        // (It never fails: a file that does not open gives null.)
        var early = remembered is null ? null : Task.Run(() => TryOpenKeyFile(remembered.KeyFile, password), CancellationToken.None);
        var stillThere = remembered is null ? null : storage.StatAsync(new StorageKey(StorageKind.Key, remembered.KeyName), cancellationToken);
        var (config, configBytes) = await ReadConfigAsync(storage, cancellationToken);
        MasterKey key;
        string keyName;
        if (remembered is not null && remembered.Config.AsSpan().SequenceEqual(configBytes)
            && await stillThere! is not null && await early! is { } earlyKey)
        {
            (key, keyName) = (earlyKey, remembered.KeyName);
        }
        else
        {
            byte[] keyFile;
            (key, keyName, keyFile) = await UnlockAsync(storage, password, cancellationToken);
            hint?.Write(configBytes, keyFile);
        }
        RepositorySettings settings;
        try
        {
            var plain = SealedFile.Decode(key.Sealer, Convert.FromBase64String(config.SealedSettings), "The repository config");
            settings = JsonSerializer.Deserialize(plain, FormatJson.Default.RepositorySettings)
                ?? throw new InvalidDataException("The repository config holds no settings.");
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or JsonException)
        {
            throw new ArcaException(ErrorCode.RepositoryDamaged, $"The config of the repository at {storage.Properties.Location} is damaged: {ex.Message}",
                "Restore the config file from a copy of the repository.", ex);
        }
        return new Repository(storage, key, config.Id, settings, keyName);
    }

    private static async Task<(ConfigFile Config, byte[] Bytes)> ReadConfigAsync(IStorage storage, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await storage.ReadAllAsync(ConfigKey, cancellationToken);
        }
        catch (StorageNotFoundException ex)
        {
            throw new ArcaException(ErrorCode.RepositoryNotFound, $"There is no repository at {storage.Properties.Location}.",
                "Check --repo (or ARCA_REPOSITORY), or create one there with 'arca init'.", ex);
        }
        ConfigFile? config;
        try
        {
            config = JsonSerializer.Deserialize(bytes, FormatJson.Default.ConfigFile);
        }
        catch (JsonException ex)
        {
            throw new ArcaException(ErrorCode.RepositoryNotFound, $"The file 'config' at {storage.Properties.Location} is not an arca repository config.",
                "Check --repo (or ARCA_REPOSITORY).", ex);
        }
        if (config is null || config.Format != FormatVersion.ConfigMagic)
        {
            throw new ArcaException(ErrorCode.RepositoryNotFound, $"The file 'config' at {storage.Properties.Location} is not an arca repository config.",
                "Check --repo (or ARCA_REPOSITORY).");
        }
        if (config.Version != FormatVersion.Current)
        {
            throw new ArcaException(ErrorCode.UnsupportedFormat,
                $"The repository at {storage.Properties.Location} has format version {config.Version}; this arca reads version {FormatVersion.Current} only.",
                config.Version > FormatVersion.Current ? "Use a newer arca for this repository." : "Use the arca release that created it.");
        }
        return (config, bytes);
    }

    /// <summary>Every key file that parses, by name, oldest first.</summary>
    public async Task<List<(string Name, KeyFile File)>> ListKeysAsync(CancellationToken cancellationToken)
    {
        var keys = new List<(string, KeyFile)>();
        await foreach (var entry in Storage.ListAsync(StorageKind.Key, cancellationToken))
        {
            try
            {
                if (JsonSerializer.Deserialize(await Storage.ReadAllAsync(entry.Key, cancellationToken), FormatJson.Default.KeyFile) is { } file
                    && file.Format == FormatVersion.KeyMagic)
                {
                    keys.Add((entry.Key.Name, file));
                }
            }
            catch (JsonException)
            {
            }
        }
        return [.. keys.OrderBy(k => k.Item2.Created).ThenBy(k => k.Item1, StringComparer.Ordinal)];
    }

    /// <summary>Tries each key file in turn; returns the key it wraps, the file's name and its bytes.</summary>
    private static async Task<(MasterKey Key, string Name, byte[] File)> UnlockAsync(IStorage storage, string password, CancellationToken cancellationToken)
    {
        var any = false;
        await foreach (var entry in storage.ListAsync(StorageKind.Key, cancellationToken))
        {
            any = true;
            var bytes = await storage.ReadAllAsync(entry.Key, cancellationToken);
            if (TryOpenKeyFile(bytes, password) is { } key)
            {
                return (key, entry.Key.Name, bytes);
            }
        }
        throw any
            ? new ArcaException(ErrorCode.WrongPassword, $"The password does not open the repository at {storage.Properties.Location}.",
                "Check ARCA_PASSWORD, --password-file, or what you typed.")
            : new ArcaException(ErrorCode.RepositoryDamaged, $"The repository at {storage.Properties.Location} has no key files, so no password can open it.",
                "Restore the keys/ folder from a copy of the repository.");
    }

    /// <summary>
    /// The master key a key file wraps, if <paramref name="password"/> opens it; null for a wrong password or a file that
    /// is not a key (its parameters out of what Argon2id takes among them).
    /// </summary>
    private static MasterKey? TryOpenKeyFile(byte[] bytes, string password)
    {
        try
        {
            var file = JsonSerializer.Deserialize(bytes, FormatJson.Default.KeyFile);
            if (file is null || file.Format != FormatVersion.KeyMagic || file.Kdf != "argon2id")
            {
                return null;
            }
            var derived = KeyWrapping.DeriveKey(password, file.Salt, new KdfParameters(file.OpsLimit, file.MemLimit));
            return KeyWrapping.Unwrap(file.SealedMasterKey, derived);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or CryptographicException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Reads every index file into <see cref="Index"/>.</summary>
    public async Task LoadIndexAsync(CancellationToken cancellationToken)
    {
        var names = new List<StorageKey>();
        await foreach (var entry in Storage.ListAsync(StorageKind.Index, cancellationToken))
        {
            names.Add(entry.Key);
        }
        var files = new (string, IndexFile)[names.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, names.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Storage.Properties.Connections), CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var bytes = await Storage.ReadAllAsync(names[i], ct);
                IndexFile file;
                try
                {
                    file = IndexFile.Decode(SealedFile.Decode(Key.Sealer, bytes, $"Index file {names[i].Name}"), names[i].Name);
                }
                catch (InvalidDataException ex)
                {
                    throw new ArcaException(ErrorCode.RepositoryDamaged, ex.Message,
                        "Run 'arca check' to see what is affected.", ex);
                }
                files[i] = (names[i].Name, file);
            });
        // A file that another names as superseded is ignored: prune rewrites the index into new files and names
        // the old ones in the last new file it writes, so the old ones count until the new ones are all there.
        var superseded = files.SelectMany(f => f.Item2.Supersedes).Select(h => h.ToString()).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, file) in files)
        {
            if (superseded.Contains(name))
            {
                SupersededIndexFiles.Add(name);
                continue;
            }
            IndexFiles.Add((name, file));
            foreach (var pack in file.Packs)
            {
                Index.AddPack(pack.Pack, pack.Blobs);
            }
        }
    }

    public BlobId IdOf(ReadOnlySpan<byte> plaintext) => Key.IdOf(plaintext);

    public bool HasBlob(BlobId id) => Index.Contains(id);

    public ValueTask<bool> SaveBlobAsync(BlobType type, BlobId id, ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken) =>
        Saver.SaveAsync(type, id, plaintext, cancellationToken);

    public ValueTask<bool> SaveBlobAsync(BlobType type, BlobId id, ReadOnlyMemory<byte> plaintext, int compressionLevel, CancellationToken cancellationToken) =>
        Saver.SaveAsync(type, id, plaintext, compressionLevel, cancellationToken);

    public (long Blobs, long Bytes, long Stored) AddedSoFar => _saver is { } s ? (s.BlobsAdded, s.BytesAdded, s.BytesAddedStored) : (0, 0, 0);

    private PackSaver Saver
    {
        get
        {
            lock (_saverLock)
            {
                return _saver ??= new PackSaver(Storage, Key, Index, Settings.PackSize, Settings.CompressionLevel,
                    maxUploads: Math.Max(2, Storage.Properties.Connections), cache: Cache);
            }
        }
    }

    /// <summary>Uploads every pending pack and writes the index files for them. Call before saving a snapshot.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) => _saver?.FlushAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>Discards a pack left half-filled by a save that did not flush (a failed or cancelled backup).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_saver is { } saver)
        {
            await saver.DiscardAsync();
        }
        Cache?.Dispose();
    }

    public async Task<byte[]> LoadBlobAsync(BlobId id, CancellationToken cancellationToken)
    {
        using var blob = await LoadPooledBlobAsync(id, cancellationToken);
        return blob.Memory.ToArray();
    }

    public async Task<PooledBlob> LoadPooledBlobAsync(BlobId id, CancellationToken cancellationToken)
    {
        if (!Index.TryGet(id, out var location))
        {
            throw new ArcaException(ErrorCode.RepositoryDamaged, $"Blob {id} is not in the index.",
                "Run 'arca check' to see what is affected.");
        }
        var entry = location.Entry;
        var sealedBuffer = BufferPool.Shared.Rent((int)entry.StoredLength);
        var plain = BufferPool.Shared.Rent((int)entry.RawLength);
        try
        {
            var sealedBytes = sealedBuffer.AsMemory(0, (int)entry.StoredLength);
            // Only packs of nothing but trees are fetched into the cache: older repositories mix trees with file content.
            if (entry.Type == BlobType.Tree && Cache is { } cache
                && await cache.TryReadIntoAsync(Storage, location.Pack, Index.HoldsOnly(location.Pack, BlobType.Tree), entry.Offset,
                    sealedBytes, cancellationToken))
            {
                try
                {
                    OpenBlobInPlace(location.Pack, entry, sealedBytes.Span, plain);
                    return new PooledBlob(plain, (int)entry.RawLength);
                }
                catch (BlobDamagedException)
                {
                    // The local copy went bad after it was checked (disk rot, a hand edit): read the repository.
                    cache.Forget(location.Pack);
                }
            }
            if (Storage.Properties.IsRemote)
            {
                _windows ??= new PackWindowReader(Storage, Index);
                await _windows.ReadIntoAsync(location.Pack, entry.Offset, sealedBytes, cancellationToken);
            }
            else
            {
                await Storage.ReadIntoAsync(new StorageKey(StorageKind.Pack, location.Pack.ToString()), entry.Offset, sealedBytes,
                    cancellationToken);
            }
            OpenBlobInPlace(location.Pack, entry, sealedBytes.Span, plain);
            return new PooledBlob(plain, (int)entry.RawLength);
        }
        catch (Exception ex)
        {
            BufferPool.Shared.Return(plain);
            if (ex is StorageNotFoundException)
            {
                throw new BlobDamagedException(id, location.Pack, $"its pack is missing ({ex.Message})");
            }
            if (ex is EndOfStreamException)
            {
                throw new BlobDamagedException(id, location.Pack, "its pack is shorter than the index says");
            }
            throw;
        }
        finally
        {
            BufferPool.Shared.Return(sealedBuffer);
        }
    }

    public bool TryLocate(BlobId id, out IndexLocation location) => Index.TryGet(id, out location);

    public int CountBlobsIn(PackId pack) => Index.CountIn(pack);

    /// <summary>Needed blobs further apart than this are read by separate requests; nearer ones by one that reads the gap too.</summary>
    private const int PackReadGap = 1 << 20;

    public async Task ReadPackAsync(PackId pack, IReadOnlyList<BlobEntry> blobs, PackBlobHandler handler, CancellationToken cancellationToken)
    {
        if (blobs.Count == 0)
        {
            return;
        }
        var ordered = blobs.OrderBy(b => b.Offset).ToList();
        var sealedBuffer = BufferPool.Shared.Rent((int)ordered.Max(b => b.StoredLength));
        var plain = BufferPool.Shared.Rent((int)Math.Max(1, ordered.Max(b => b.RawLength)));
        var key = new StorageKey(StorageKind.Pack, pack.ToString());
        var handed = 0;
        try
        {
            while (handed < ordered.Count)
            {
                // One request: from the next blob on, as long as the gaps stay small.
                var first = handed;
                var last = first;
                while (last + 1 < ordered.Count
                       && (long)ordered[last + 1].Offset - ((long)ordered[last].Offset + ordered[last].StoredLength) <= PackReadGap)
                {
                    last++;
                }
                var start = (long)ordered[first].Offset;
                var end = (long)ordered[last].Offset + ordered[last].StoredLength;
                await Storage.ReadAsync(key, start, end - start, (stream, ct) => SealedBlobs.ReadAsync(stream, start, ordered[first..(last + 1)],
                    sealedBuffer, async (i, entry, sealedBytes) =>
                    {
                        // Called again if the storage retries: the blobs handed on already are read past.
                        if (first + i < handed)
                        {
                            return;
                        }
                        BlobDamagedException? damage = null;
                        try
                        {
                            OpenBlobInPlace(pack, entry, sealedBytes.Span, plain);
                        }
                        catch (BlobDamagedException ex)
                        {
                            damage = ex;
                        }
                        await handler(entry, damage is null ? plain.AsMemory(0, (int)entry.RawLength) : default, damage, ct);
                        handed++;
                    }, ct), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is StorageNotFoundException or EndOfStreamException)
        {
            var reason = ex is StorageNotFoundException ? $"its pack is missing ({ex.Message})" : "its pack is shorter than the index says";
            for (; handed < ordered.Count; handed++)
            {
                await handler(ordered[handed], default, new BlobDamagedException(ordered[handed].Id, pack, reason), cancellationToken);
            }
        }
        finally
        {
            BufferPool.Shared.Return(plain);
            BufferPool.Shared.Return(sealedBuffer);
        }
    }

    /// <summary>
    /// Opens, decompresses and verifies one blob's stored bytes into <paramref name="destination"/> (at least RawLength
    /// long), down to its content's hash: for check and prune, which must find a blob stored under the wrong id too.
    /// </summary>
    public void OpenBlob(PackId pack, BlobEntry entry, ReadOnlySpan<byte> sealedBytes, Span<byte> destination)
    {
        if (!entry.Compressed)
        {
            OpenBlob(pack, entry, sealedBytes, [], destination, rehash: true);
            return;
        }
        var opened = BufferPool.Shared.Rent(Math.Max(0, sealedBytes.Length - Sealer.Overhead));
        try
        {
            OpenBlob(pack, entry, sealedBytes, opened, destination, rehash: true);
        }
        finally
        {
            BufferPool.Shared.Return(opened);
        }
    }

    /// <summary>
    /// Opens and decompresses one blob's stored bytes for a reader (a restore, a tree's load): a compressed blob is
    /// decrypted where it lies, so no third buffer is needed; <paramref name="sealedBytes"/> is spent. Its content is
    /// not hashed again: it opens only under the id it was sealed with (<see cref="MasterKey.SealBlob"/>), which proves
    /// it is what the backup stored under that id. Hashing cost a restore 15% of its time (SHA-256 of every byte).
    /// </summary>
    public void OpenBlobInPlace(PackId pack, BlobEntry entry, Span<byte> sealedBytes, Span<byte> destination) =>
        OpenBlob(pack, entry, sealedBytes, entry.Compressed ? sealedBytes[Sealer.NonceSize..] : [], destination, rehash: false);

    /// <param name="opened">Where a compressed blob is decrypted before decompression (may be the ciphertext itself).</param>
    /// <param name="rehash">
    /// Also check that the content hashes to its id: what the seal cannot prove, since a backup seals what it hashed,
    /// and only a fault in the writer (memory, a bug) could part the two.
    /// </param>
    private void OpenBlob(PackId pack, BlobEntry entry, ReadOnlySpan<byte> sealedBytes, Span<byte> opened, Span<byte> destination, bool rehash)
    {
        var plain = destination[..(int)entry.RawLength];
        if (!entry.Compressed)
        {
            if (!Key.TryOpenBlob(sealedBytes, plain, entry.Id, out var n) || n != plain.Length)
            {
                throw new BlobDamagedException(entry.Id, pack, NotOpened);
            }
        }
        else
        {
            if (!Key.TryOpenBlob(sealedBytes, opened, entry.Id, out var n))
            {
                throw new BlobDamagedException(entry.Id, pack, NotOpened);
            }
            try
            {
                BlobCompressor.Decompress(opened[..n], plain);
            }
            catch (InvalidDataException ex)
            {
                throw new BlobDamagedException(entry.Id, pack, ex.Message);
            }
        }
        if (rehash && Key.IdOf(plain) != entry.Id)
        {
            throw new BlobDamagedException(entry.Id, pack, "its content does not match its id");
        }
    }

    private const string NotOpened = "it does not decrypt (its bytes were altered, or they are another blob's)";

    public async Task<Tree> LoadTreeAsync(BlobId id, CancellationToken cancellationToken)
    {
        var bytes = await LoadBlobAsync(id, cancellationToken);
        try
        {
            return Tree.Deserialize(bytes);
        }
        catch (InvalidDataException ex)
        {
            throw new ArcaException(ErrorCode.RepositoryDamaged, $"Tree {id} is not a valid tree: {ex.Message}", inner: ex);
        }
    }

    public async Task<SnapshotId> SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken)
    {
        var bytes = SealedFile.Encode(Key.Sealer, snapshot.Serialize(), compress: true);
        var id = new SnapshotId(new Hash256(SHA256.HashData(bytes)));
        await Storage.PutBytesAsync(new StorageKey(StorageKind.Snapshot, id.ToString()), bytes, cancellationToken);
        return id;
    }

    public async Task<Snapshot> LoadSnapshotAsync(SnapshotId id, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await Storage.ReadAllAsync(new StorageKey(StorageKind.Snapshot, id.ToString()), cancellationToken);
        }
        catch (StorageNotFoundException ex)
        {
            throw new ArcaException(ErrorCode.SnapshotNotFound, $"There is no snapshot {id} in the repository.",
                "List them with 'arca snapshots'.", ex);
        }
        try
        {
            return Snapshot.Deserialize(SealedFile.Decode(Key.Sealer, bytes, $"Snapshot {id.Short}"), id.Short);
        }
        catch (InvalidDataException ex)
        {
            throw new ArcaException(ErrorCode.RepositoryDamaged, ex.Message, "Run 'arca check' to see what is affected.", ex);
        }
    }

    /// <summary>Removes a snapshot; its data stays until prune finds nothing else needs it.</summary>
    public Task ForgetSnapshotAsync(SnapshotId id, CancellationToken cancellationToken) =>
        Storage.DeleteAsync(new StorageKey(StorageKind.Snapshot, id.ToString()), cancellationToken);

    public async IAsyncEnumerable<SnapshotId> ListSnapshotIdsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entry in Storage.ListAsync(StorageKind.Snapshot, cancellationToken))
        {
            if (Hash256.TryParse(entry.Key.Name, out var hash))
            {
                yield return new SnapshotId(hash);
            }
        }
    }

    /// <summary>Every snapshot with its id, oldest first.</summary>
    public async Task<List<(SnapshotId Id, Snapshot Snapshot)>> LoadAllSnapshotsAsync(CancellationToken cancellationToken)
    {
        var ids = new List<SnapshotId>();
        await foreach (var id in ListSnapshotIdsAsync(cancellationToken))
        {
            ids.Add(id);
        }
        var result = new (SnapshotId, Snapshot)[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count),
            new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (i, ct) => result[i] = (ids[i], await LoadSnapshotAsync(ids[i], ct)));
        return [.. result.OrderBy(s => s.Item2.Time).ThenBy(s => s.Item1.Hash)];
    }

    /// <summary>Seals a small record (a lock) as a whole file.</summary>
    public byte[] SealFile(ReadOnlySpan<byte> payload) => SealedFile.Encode(Key.Sealer, payload, compress: false);

    public byte[] OpenFile(ReadOnlySpan<byte> sealedBytes, string what) => SealedFile.Decode(Key.Sealer, sealedBytes, what);
}
