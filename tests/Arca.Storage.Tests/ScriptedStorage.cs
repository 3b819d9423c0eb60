using System.Runtime.CompilerServices;

namespace Arca.Storage.Tests;

/// <summary>
/// Passes every call to an inner storage after asking <see cref="Script"/> whether this call (numbered from 1,
/// across all operations) should throw instead. A put that throws first reads a few bytes of its stream, as
/// an upload cut off midway would, so tests can see that a retry rewinds it.
/// </summary>
internal sealed class ScriptedStorage(IStorage inner) : IStorage
{
    private int _calls;

    /// <summary>Given the operation name and the call number, the exception to throw, or null to go ahead.</summary>
    public Func<string, int, Exception?> Script { get; set; } = (_, _) => null;

    /// <summary>Called as each call begins, before the script.</summary>
    public Action<string, int>? OnCall { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public StorageProperties Properties => inner.Properties;

    public async Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken)
    {
        if (Next("put") is { } error)
        {
            var some = new byte[3];
            _ = await content.ReadAsync(some, cancellationToken);
            throw error;
        }
        await inner.PutAsync(key, content, cancellationToken);
    }

    public Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume,
        CancellationToken cancellationToken) =>
        Next("read") is { } error ? throw error : inner.ReadAsync(key, offset, length, consume, cancellationToken);

    public Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken) =>
        Next("stat") is { } error ? throw error : inner.StatAsync(key, cancellationToken);

    public async IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var error = Next("list");
        var yielded = 0;
        await foreach (var entry in inner.ListAsync(kind, cancellationToken))
        {
            // A listing that breaks after the first entry, as a paged listing can.
            if (error is not null && yielded == 1)
            {
                throw error;
            }
            yielded++;
            yield return entry;
        }
        if (error is not null)
        {
            throw error;
        }
    }

    public Task DeleteAsync(StorageKey key, CancellationToken cancellationToken) =>
        Next("delete") is { } error ? throw error : inner.DeleteAsync(key, cancellationToken);

    private Exception? Next(string operation)
    {
        var call = Interlocked.Increment(ref _calls);
        OnCall?.Invoke(operation, call);
        return Script(operation, call);
    }
}
