using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Arca.Storage.Local;

/// <summary>
/// A repository in a local folder, laid out as <see cref="StorageLayout"/> says. Every write goes to a temporary file in the destination folder, is
/// flushed to disk, then renamed into place: a crash leaves either the whole file or a stray temporary
/// file (ignored by listing, removed by <see cref="RemoveTemporaryFiles"/>), never a torn one.
/// </summary>
public sealed class LocalStorage : IStorage
{
    private const string TempPrefix = ".tmp-";
    private const int MaxCachedHandles = 256;
    private readonly string _root;
    private readonly ConcurrentDictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);

    public LocalStorage(string root)
    {
        _root = Path.GetFullPath(root);
        Properties = new StorageProperties(_root, Connections: 2);
    }

    public StorageProperties Properties { get; }

    public string Root => _root;

    /// <summary>Creates the folder layout: not needed (writes create folders), but a new repository that shows its layout is less surprising.</summary>
    public Task CreateAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_root);
        foreach (var kind in Enum.GetValues<StorageKind>())
        {
            if (kind != StorageKind.Config)
            {
                Directory.CreateDirectory(Path.Combine(_root, StorageLayout.FolderOf(kind)));
            }
        }
        return Task.CompletedTask;
    }

    public async Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        if (File.Exists(path))
        {
            // Names are hashes of content: the same name holds the same bytes already.
            return;
        }
        var folder = Path.GetDirectoryName(path)!;
        var temp = TemporaryPath(folder);
        try
        {
            // Inside the try, so a folder that cannot be made is reported as a storage error too.
            Directory.CreateDirectory(folder);
            await using (var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
                PreallocationSize = content.CanSeek ? content.Length - content.Position : 0,
            }))
            {
                await content.CopyToAsync(file, 1 << 20, cancellationToken);
                file.Flush(flushToDisk: true);
            }
            PublishTemporary(temp, key);
        }
        catch (Exception ex)
        {
            TryDelete(temp);
            if (ex is OperationCanceledException)
            {
                throw;
            }
            throw new StorageException($"Could not write {key} in {_root}: {ex.Message}", isTransient: false, ex);
        }
    }

    /// <summary>Stages in the kind's folder, so the commit is a rename on the same file system.</summary>
    public Task<IStagedFile> StageAsync(StorageKind kind, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var folder = Path.Combine(_root, StorageLayout.FolderOf(kind));
        return Task.FromResult<IStagedFile>(LocalStage.Create(this, folder, TemporaryPath(folder)));
    }

    private static string TemporaryPath(string folder) => Path.Combine(folder, TempPrefix + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Moves a complete, flushed temporary file to <paramref name="key"/>'s place, read-only (write-once files
    /// are, as in restic: a stray rm or editor asks first). If the name exists, another writer put the same
    /// content first and the temporary file goes.
    /// </summary>
    internal void PublishTemporary(string temp, StorageKey key)
    {
        var path = PathOf(key);
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            TryDelete(temp);
        }
    }

    public async Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume,
        CancellationToken cancellationToken)
    {
        var (handle, owned) = OpenForRead(key);
        try
        {
            var size = RandomAccess.GetLength(handle);
            // Compared as length > size - offset: offset + length could overflow and slip past the check.
            if (offset < 0 || offset > size || length < 0 || length > size - offset)
            {
                throw new StorageException(
                    $"Could not read {key}: {length} bytes at {offset} lie outside its {size} bytes.",
                    isTransient: false);
            }
            await using var window = new HandleWindowStream(handle, offset, length == 0 ? size - offset : length);
            await consume(window, cancellationToken);
        }
        finally
        {
            if (owned)
            {
                handle.Dispose();
            }
        }
    }

    /// <summary>
    /// Opens a file for reading. Pack handles are kept open and shared (packs are written once and
    /// never change, and a restore reads thousands of blobs from each): up to <see cref="MaxCachedHandles"/>.
    /// Returns whether the caller owns (and must dispose) the handle.
    /// </summary>
    private (SafeFileHandle Handle, bool Owned) OpenForRead(StorageKey key)
    {
        var path = PathOf(key);
        if (key.Kind == StorageKind.Pack && _handles.TryGetValue(path, out var cached))
        {
            return (cached, false);
        }
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new StorageNotFoundException(key, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"Could not read {key} in {_root}: {ex.Message}", isTransient: false, ex);
        }
        if (key.Kind == StorageKind.Pack && _handles.Count < MaxCachedHandles)
        {
            if (_handles.TryAdd(path, handle))
            {
                return (handle, false);
            }
        }
        return (handle, true);
    }

    public Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken)
    {
        var info = new FileInfo(PathOf(key));
        return Task.FromResult<StorageEntry?>(info.Exists ? new StorageEntry(key, info.Length) : null);
    }

    public async IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (kind == StorageKind.Config)
        {
            var config = new StorageKey(StorageKind.Config, "config");
            if (await StatAsync(config, cancellationToken) is { } entry)
            {
                yield return entry;
            }
            yield break;
        }
        var folder = new DirectoryInfo(Path.Combine(_root, StorageLayout.FolderOf(kind)));
        if (!folder.Exists)
        {
            yield break;
        }
        var options = new EnumerationOptions { RecurseSubdirectories = kind == StorageKind.Pack, MaxRecursionDepth = 1 };
        foreach (var file in folder.EnumerateFiles("*", options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.Name.StartsWith(TempPrefix, StringComparison.Ordinal))
            {
                continue;
            }
            long length;
            try
            {
                length = file.Length; // a stat of its own, after the directory was read
            }
            catch (FileNotFoundException)
            {
                continue; // deleted meanwhile (another process's lock, a pack prune removed): not there any more
            }
            yield return new StorageEntry(new StorageKey(kind, file.Name), length);
        }
    }

    public Task DeleteAsync(StorageKey key, CancellationToken cancellationToken)
    {
        // Forget a cached handle but do not close it: a read in flight keeps working on the deleted file
        // (as POSIX allows), and the handle is closed once nothing refers to it.
        _handles.TryRemove(PathOf(key), out _);
        try
        {
            File.Delete(PathOf(key));
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"Could not delete {key} in {_root}: {ex.Message}", isTransient: false, ex);
        }
        return Task.CompletedTask;
    }

    /// <summary>Removes temporary files that a crashed writer left behind. Returns how many.</summary>
    public int RemoveTemporaryFiles()
    {
        var removed = 0;
        if (!Directory.Exists(_root))
        {
            return 0;
        }
        foreach (var file in Directory.EnumerateFiles(_root, TempPrefix + "*", SearchOption.AllDirectories))
        {
            TryDelete(file);
            removed++;
        }
        return removed;
    }

    public string PathOf(StorageKey key) => Path.Combine(_root, StorageLayout.RelativePath(key));

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
