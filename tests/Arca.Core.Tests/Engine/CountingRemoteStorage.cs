using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Arca.Storage;

namespace Arca.Core.Tests.Engine;

/// <summary>Local storage that says it is remote, and counts the pack reads and their bytes, and the listings of keys.</summary>
internal sealed class CountingRemoteStorage(IStorage inner) : IStorage
{
    public int PackReads;
    public long PackBytesRead;
    public int KeyListings;
    /// <summary>Reads of each pack, by name.</summary>
    public ConcurrentDictionary<string, int> ReadsOfPack { get; } = new();

    public StorageProperties Properties { get; } = inner.Properties with { IsRemote = true };

    public Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken) =>
        inner.PutAsync(key, content, cancellationToken);

    public Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume,
        CancellationToken cancellationToken)
    {
        if (key.Kind == StorageKind.Pack)
        {
            Interlocked.Increment(ref PackReads);
            Interlocked.Add(ref PackBytesRead, length);
            ReadsOfPack.AddOrUpdate(key.Name, 1, (_, n) => n + 1);
        }
        return inner.ReadAsync(key, offset, length, consume, cancellationToken);
    }

    public Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public async IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (kind == StorageKind.Key)
        {
            Interlocked.Increment(ref KeyListings);
        }
        await foreach (var entry in inner.ListAsync(kind, cancellationToken))
        {
            yield return entry;
        }
    }

    public Task DeleteAsync(StorageKey key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
}
