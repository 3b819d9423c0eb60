namespace Arca.Storage.Staging;

/// <summary>
/// Stages in a file of the machine's temporary folder and commits through <see cref="IStorage.PutAsync"/>:
/// the way for any storage that cannot stage in place (object stores, decorators). The file's name is unlinked
/// as soon as it is open, so nothing is left behind whatever becomes of the writer: killed, or abandoned
/// undisposed by a failed backup. (Deleting on close left a file of up to a pack's size per abandoned writer.)
/// </summary>
internal sealed class TempFileStage : IStagedFile
{
    private readonly IStorage _target;
    private readonly FileStream _file;
    private bool _committed;

    private TempFileStage(IStorage target, FileStream file)
    {
        _target = target;
        _file = file;
    }

    public static IStagedFile Create(IStorage target)
    {
        var path = Path.Combine(Path.GetTempPath(), "arca-stage-" + Guid.NewGuid().ToString("N"));
        try
        {
            var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                BufferSize = 0,
            });
            File.Delete(path);
            return new TempFileStage(target, file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException(
                $"Could not create a staging file in {Path.GetTempPath()}: {ex.Message}; set TMPDIR to a writable folder.",
                isTransient: false, ex);
        }
    }

    public long Length { get; private set; }

    public async ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        await RandomAccess.WriteAsync(_file.SafeFileHandle, data, Length, cancellationToken);
        Length += data.Length;
    }

    public async Task CommitAsync(StorageKey key, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        await using var content = new HandleWindowStream(_file.SafeFileHandle, 0, Length);
        await _target.PutAsync(key, content, cancellationToken);
        _committed = true;
    }

    public ValueTask DisposeAsync() => _file.DisposeAsync();
}
