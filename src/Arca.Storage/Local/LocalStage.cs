using Arca.Native;

namespace Arca.Storage.Local;

/// <summary>
/// Stages a file in its kind's folder of the repository under a temporary name and commits it the way
/// <see cref="LocalStorage.PutAsync"/> writes: fsync, read-only, then rename into place. The bytes are
/// written once, past the page cache where the file system allows (<see cref="DirectFileWriter"/>); a crash
/// leaves a <c>.tmp-</c> file that <see cref="LocalStorage.RemoveTemporaryFiles"/> clears.
/// </summary>
internal sealed class LocalStage : IStagedFile
{
    private readonly LocalStorage _storage;
    private readonly string _path;
    private readonly DirectFileWriter _file;
    private bool _committed;

    private LocalStage(LocalStorage storage, string path, DirectFileWriter file)
    {
        _storage = storage;
        _path = path;
        _file = file;
    }

    public static LocalStage Create(LocalStorage storage, string folder, string path)
    {
        try
        {
            Directory.CreateDirectory(folder);
            return new LocalStage(storage, path, DirectFileWriter.Create(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"Could not create {path}: {ex.Message}", isTransient: false, ex);
        }
    }

    public long Length => _file.Length;

    /// <summary>True when the bytes bypass the page cache.</summary>
    internal bool IsDirect => _file.IsDirect;

    public async ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        try
        {
            await _file.AppendAsync(data, cancellationToken);
        }
        catch (IOException ex)
        {
            throw new StorageException($"Could not write {_path}: {ex.Message}", isTransient: false, ex);
        }
    }

    public async Task CommitAsync(StorageKey key, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await _file.CompleteAsync(flushToDevice: true, cancellationToken);
            await _file.DisposeAsync();
            _storage.PublishTemporary(_path, key);
            _committed = true;
        }
        catch (IOException ex)
        {
            throw new StorageException($"Could not write {key} in {_storage.Root}: {ex.Message}", isTransient: false, ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _file.DisposeAsync();
        if (!_committed)
        {
            LocalStorage.TryDelete(_path);
        }
    }
}
