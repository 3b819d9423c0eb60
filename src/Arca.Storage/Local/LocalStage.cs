namespace Arca.Storage.Local;

/// <summary>
/// Stages a file in its kind's folder of the repository under a temporary name and commits it the way
/// <see cref="LocalStorage.PutAsync"/> writes: fsync, read-only, then rename into place. The bytes are
/// written once; a crash leaves a <c>.tmp-</c> file that <see cref="LocalStorage.RemoveTemporaryFiles"/> clears.
/// </summary>
internal sealed class LocalStage : IStagedFile
{
    private readonly LocalStorage _storage;
    private readonly string _path;
    private readonly FileStream _file;
    private bool _committed;

    private LocalStage(LocalStorage storage, string path, FileStream file)
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
            var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
            });
            return new LocalStage(storage, path, file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"Could not create {path}: {ex.Message}", isTransient: false, ex);
        }
    }

    public long Length { get; private set; }

    public async ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        try
        {
            await RandomAccess.WriteAsync(_file.SafeFileHandle, data, Length, cancellationToken);
        }
        catch (IOException ex)
        {
            throw new StorageException($"Could not write {_path}: {ex.Message}", isTransient: false, ex);
        }
        Length += data.Length;
    }

    public async Task CommitAsync(StorageKey key, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            _file.Flush(flushToDisk: true);
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
