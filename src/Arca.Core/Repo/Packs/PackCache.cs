using System.Collections.Concurrent;
using System.Security.Cryptography;
using Arca.Storage;
using Microsoft.Win32.SafeHandles;

namespace Arca.Repo.Packs;

/// <summary>
/// Whole packs of trees from a remote repository, kept in a local folder (one per repository id), as restic
/// and Borg keep theirs. Everything that walks snapshots without their content (a restore's plan, prune,
/// ls, diff, the next backup's parent) reads trees from here rather than asking the server for each. A pack
/// is fetched whole the first time one of its trees is wanted, checked against its name (the SHA-256 of its
/// bytes) and moved into place, so a file in the folder is always a whole, right pack; backups add the tree
/// packs they write. Every blob read from here is still authenticated as it is opened. Packs never change
/// under a name, so nothing goes stale; prune removes the packs it deleted.
/// </summary>
public sealed class PackCache : IDisposable
{
    /// <summary>Handles kept open; beyond this many packs, a read opens and closes its own.</summary>
    private const int MaxOpenHandles = 256;

    private readonly string _folder;
    private readonly ConcurrentDictionary<PackId, Lazy<Task<bool>>> _fetches = new();
    private readonly ConcurrentDictionary<PackId, SafeFileHandle> _handles = new();
    // Set when a copy could not be written (a full disk): the rest of this process reads the repository instead.
    private volatile bool _unwritable;

    private PackCache(string folder) => _folder = folder;

    /// <summary>
    /// The cache of repository <paramref name="repositoryId"/> under <paramref name="root"/>, its folder created if
    /// need be; null when the folder cannot be made (a read-only home): without a cache, reads go to the repository.
    /// </summary>
    public static PackCache? Open(string root, string repositoryId)
    {
        // The id comes from the repository's config, which is not authenticated: only a plain hex name may
        // become a folder, so a meddled config cannot point the cache (and prune's clean-up of it) elsewhere.
        if (repositoryId.Length is 0 or > 128 || !repositoryId.All(char.IsAsciiHexDigitLower))
        {
            return null;
        }
        try
        {
            var folder = Path.Combine(Path.GetFullPath(root), repositoryId, "packs");
            Directory.CreateDirectory(folder);
            return new PackCache(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// The folder the cache of every repository lives under, by the environment: ARCA_CACHE_DIR, else
    /// $XDG_CACHE_HOME/arca, else ~/.cache/arca. Null when none of them is set.
    /// </summary>
    public static string? DefaultRoot(Func<string, string?> environment)
    {
        if (environment("ARCA_CACHE_DIR") is { Length: > 0 } explicitRoot)
        {
            return explicitRoot;
        }
        if (environment("XDG_CACHE_HOME") is { Length: > 0 } xdg)
        {
            return Path.Combine(xdg, "arca");
        }
        return environment("HOME") is { Length: > 0 } home ? Path.Combine(home, ".cache", "arca") : null;
    }

    /// <summary>
    /// Fills <paramref name="destination"/> from the cached copy of <paramref name="pack"/>, fetching it whole from
    /// <paramref name="storage"/> first if need be. False when it cannot be had whole and right (the caller then
    /// reads the storage as it would without a cache, and meets the real error there).
    /// </summary>
    /// <param name="fetch">Whether to fetch the pack if the cache lacks it: only packs of nothing but trees are worth it
    /// (a repository written before trees had packs of their own has them mixed with file content).</param>
    public async Task<bool> TryReadIntoAsync(IStorage storage, PackId pack, bool fetch, long offset, Memory<byte> destination,
        CancellationToken cancellationToken)
    {
        if (!_handles.ContainsKey(pack) && !File.Exists(PathOf(pack)))
        {
            if (!fetch || _unwritable)
            {
                return false;
            }
            var fetching = _fetches.GetOrAdd(pack, p => new Lazy<Task<bool>>(() => FetchAsync(storage, p)));
            // Not cancelled with one reader's token: others may be waiting for the same pack.
            if (!await fetching.Value.WaitAsync(cancellationToken))
            {
                _fetches.TryRemove(KeyValuePair.Create(pack, fetching));
                return false;
            }
        }
        return await ReadCachedAsync(pack, offset, destination, cancellationToken);
    }

    private async Task<bool> ReadCachedAsync(PackId pack, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        SafeFileHandle handle;
        var own = false;
        try
        {
            if (!_handles.TryGetValue(pack, out handle!))
            {
                handle = File.OpenHandle(PathOf(pack), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                own = _handles.Count >= MaxOpenHandles || !_handles.TryAdd(pack, handle);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        try
        {
            var read = 0;
            while (read < destination.Length)
            {
                var n = await RandomAccess.ReadAsync(handle, destination[read..], offset + read, cancellationToken);
                if (n == 0)
                {
                    return false;
                }
                read += n;
            }
            return true;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException)
        {
            // Forgotten by another reader meanwhile, or the local disk failed: the caller reads the repository.
            return false;
        }
        finally
        {
            if (own)
            {
                handle.Dispose();
            }
        }
    }

    /// <summary>A stream over the cached copy of <paramref name="pack"/>, or null if there is none.</summary>
    public FileStream? OpenRead(PackId pack)
    {
        try
        {
            return new FileStream(PathOf(pack), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Keeps a copy of a pack this process has just written (its bytes, whose hash names it).</summary>
    public void Add(PackId pack, ReadOnlySpan<byte> bytes)
    {
        if (_unwritable)
        {
            return;
        }
        var temp = TempPath();
        try
        {
            using (var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write))
            {
                RandomAccess.Write(file, bytes, 0);
            }
            File.Move(temp, PathOf(pack), overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A cache that cannot be written is only slower.
            _unwritable = true;
            TryDelete(temp);
        }
    }

    /// <summary>Deletes the cached copy of <paramref name="pack"/>, which failed a check: the next read fetches it again.</summary>
    public void Forget(PackId pack)
    {
        if (_handles.TryRemove(pack, out var handle))
        {
            handle.Dispose();
        }
        _fetches.TryRemove(pack, out _);
        TryDelete(PathOf(pack));
    }

    /// <summary>Deletes the cached packs that are not in <paramref name="live"/> (after prune deleted them).</summary>
    public void Retain(IReadOnlySet<PackId> live)
    {
        foreach (var path in Directory.EnumerateFiles(_folder))
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith(".tmp-", StringComparison.Ordinal)
                ? File.GetLastWriteTimeUtc(path) < DateTime.UtcNow.AddHours(-1)
                : !Hash256.TryParse(name, out var hash) || !live.Contains(new PackId(hash)))
            {
                if (Hash256.TryParse(name, out var gone) && _handles.TryRemove(new PackId(gone), out var handle))
                {
                    handle.Dispose();
                }
                TryDelete(path);
            }
        }
    }

    /// <summary>Downloads the whole pack into a temporary file, checks its hash against its name, and moves it into place.</summary>
    private async Task<bool> FetchAsync(IStorage storage, PackId pack)
    {
        var temp = TempPath();
        try
        {
            await storage.ReadAsync(new StorageKey(StorageKind.Pack, pack.ToString()), 0, 0, async (stream, ct) =>
            {
                // Written from the start again if the storage retries the read.
                FileStream file;
                try
                {
                    file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw Unwritable(ex);
                }
                await using var _ = file;
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = BufferPool.Shared.Rent(1 << 16);
                try
                {
                    int n;
                    while ((n = await stream.ReadAsync(buffer, ct)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                        try
                        {
                            await file.WriteAsync(buffer.AsMemory(0, n), ct);
                        }
                        catch (IOException ex)
                        {
                            throw Unwritable(ex);
                        }
                    }
                }
                finally
                {
                    BufferPool.Shared.Return(buffer);
                }
                if (new PackId(new Hash256(hash.GetHashAndReset())) != pack)
                {
                    throw new InvalidDataException("its bytes do not match its name");
                }
            }, CancellationToken.None);
            File.Move(temp, PathOf(pack), overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is StorageException or StorageNotFoundException or IOException or UnauthorizedAccessException
                                       or InvalidDataException)
        {
            TryDelete(temp);
            return false;
        }
    }

    /// <summary>A failure to write the cache, which the storage must not retry as if the read had failed.</summary>
    private StorageException Unwritable(Exception cause)
    {
        _unwritable = true;
        return new StorageException($"Could not write the cache in {_folder}: {cause.Message}", isTransient: false, cause);
    }

    private string PathOf(PackId pack) => Path.Combine(_folder, pack.ToString());

    private string TempPath() => Path.Combine(_folder, ".tmp-" + Guid.NewGuid().ToString("N"));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    public void Dispose()
    {
        foreach (var handle in _handles.Values)
        {
            handle.Dispose();
        }
        _handles.Clear();
    }
}
