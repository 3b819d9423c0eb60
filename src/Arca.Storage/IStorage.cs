namespace Arca.Storage;

/// <summary>
/// Bytes by name, nothing more. Files are written once and never modified; a write is atomic
/// (readers see the whole file or nothing). Retries, fault injection and dry runs are decorators
/// around this interface, so it stays small: a retry needs a rewindable write stream and a read
/// callback that may be called again.
/// </summary>
public interface IStorage
{
    StorageProperties Properties { get; }

    /// <summary>
    /// Writes <paramref name="content"/> (from its current position, which must be rewindable)
    /// under <paramref name="key"/>, atomically. Writing a name that exists with the same bytes is
    /// harmless; names are hashes of content except for the config.
    /// </summary>
    Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken);

    /// <summary>
    /// Reads <paramref name="length"/> bytes at <paramref name="offset"/> (length 0 means to the end)
    /// and hands them to <paramref name="consume"/> as a stream. The callback may be called again if
    /// the read is retried, so it must not keep state across calls.
    /// </summary>
    Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume,
        CancellationToken cancellationToken);

    /// <summary>The entry for <paramref name="key"/>, or null if there is no such file.</summary>
    Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken);

    IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind, CancellationToken cancellationToken);

    /// <summary>Removes a file; removing a file that is not there is not an error.</summary>
    Task DeleteAsync(StorageKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Makes what must exist before a new repository's first file is written (a folder layout, a bucket).
    /// Idempotent; by default there is nothing to make.
    /// </summary>
    Task CreateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Starts a file of <paramref name="kind"/> whose name is given at its commit. By default it is staged in
    /// the machine's temporary folder and committed with <see cref="PutAsync"/>; a storage that can stage in
    /// place (a local folder: write, then rename) does so and saves the copy.
    /// </summary>
    Task<IStagedFile> StageAsync(StorageKind kind, CancellationToken cancellationToken) =>
        Task.FromResult(Staging.TempFileStage.Create(this));
}
