using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Arca.Storage.InMemory;

/// <summary>
/// A repository held in memory, with the semantics of <see cref="Local.LocalStorage"/>: files are written
/// once (putting a name that exists keeps the bytes already there), a put is atomic (the bytes become
/// visible only once the whole stream has been read), reading a missing name throws
/// <see cref="StorageNotFoundException"/>, a range outside the file is a permanent
/// <see cref="StorageException"/>, and deleting a missing name is not an error. Thread-safe. Meant for
/// fast tests and dry runs; everything is lost when it is collected.
/// </summary>
public sealed class InMemoryStorage : IStorage
{
    private readonly ConcurrentDictionary<StorageKey, byte[]> _files = new();

    public InMemoryStorage(string location = "memory:")
    {
        // Nothing waits on I/O, so parallel callers gain little beyond a few cores' worth.
        Properties = new StorageProperties(location, Connections: 4);
    }

    public StorageProperties Properties { get; }

    /// <summary>How many files are stored, of every kind.</summary>
    public int Count => _files.Count;

    public async Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_files.ContainsKey(key))
        {
            // Names are hashes of content: the same name holds the same bytes already.
            return;
        }
        byte[] bytes;
        try
        {
            using var buffer = new MemoryStream();
            await content.CopyToAsync(buffer, cancellationToken);
            bytes = buffer.ToArray();
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not StorageException)
        {
            throw new StorageException($"Could not write {key} in {Properties.Location}: {ex.Message}", isTransient: false, ex);
        }
        // A concurrent writer of the same name may have won; its bytes stay, as on disk.
        _files.TryAdd(key, bytes);
    }

    public async Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_files.TryGetValue(key, out var bytes))
        {
            throw new StorageNotFoundException(key);
        }
        if (offset < 0 || offset > bytes.Length || length < 0 || length > bytes.Length - offset)
        {
            throw new StorageException(
                $"Could not read {key}: {length} bytes at {offset} lie outside its {bytes.Length} bytes.",
                isTransient: false);
        }
        var count = length == 0 ? bytes.Length - (int)offset : (int)length;
        await using var stream = new ReadOnlyMemoryStream(bytes.AsMemory((int)offset, count));
        await consume(stream, cancellationToken);
    }

    public Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<StorageEntry?>(
            _files.TryGetValue(key, out var bytes) ? new StorageEntry(key, bytes.Length) : null);
    }

    public async IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        // A snapshot of the moment the listing starts, in name order so runs are repeatable.
        var entries = _files
            .Where(pair => pair.Key.Kind == kind)
            .Select(pair => new StorageEntry(pair.Key, pair.Value.Length))
            .OrderBy(entry => entry.Key.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }
    }

    public Task DeleteAsync(StorageKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _files.TryRemove(key, out _);
        return Task.CompletedTask;
    }
}
