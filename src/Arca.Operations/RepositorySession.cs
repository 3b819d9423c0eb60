using Arca.Storage;
using Arca.Repo;
using Arca.Repo.Packs;

namespace Arca.Operations;

/// <summary>
/// An open repository with the lock an operation needs (none, shared or exclusive), released on dispose.
/// Every operation starts here, so opening and locking happen one way.
/// </summary>
public sealed class RepositorySession : IAsyncDisposable
{
    private RepositorySession(Repository repository, RepositoryLock? repositoryLock, TimeProvider time)
    {
        Repository = repository;
        Lock = repositoryLock;
        _time = time;
    }

    private readonly TimeProvider _time;

    public Repository Repository { get; }
    public RepositoryLock? Lock { get; private set; }

    /// <summary>
    /// Takes a lock on a session opened without one: for operations that first check their inputs, so that
    /// a mistyped argument leaves the repository exactly as it was (not even a lock file comes and goes).
    /// </summary>
    public async Task LockAsync(LockKind lockKind, string operation, CancellationToken cancellationToken)
    {
        if (Lock is null && lockKind != LockKind.None)
        {
            Lock = await RepositoryLock.AcquireAsync(Repository, lockKind == LockKind.Exclusive, operation, _time, cancellationToken);
        }
    }

    /// <param name="cacheRoot">Where a remote repository's tree packs are cached (<see cref="PackCache"/>), and the key that opened
    /// it is remembered (<see cref="KeyHint"/>); null for none.</param>
    public static async Task<RepositorySession> OpenAsync(IStorage storage, string password, LockKind lockKind, string operation,
        bool loadIndex, TimeProvider time, CancellationToken cancellationToken, string? cacheRoot = null)
    {
        // Only a remote repository is worth a cache: a local one is read as fast as a copy of it would be.
        var cache = storage.Properties.IsRemote ? cacheRoot : null;
        var repository = await Repository.OpenAsync(storage, password, cache is null ? null : KeyHint.For(cache, storage.Properties.Location), cancellationToken);
        if (cache is not null && PackCache.Open(cache, repository.Id) is { } packs)
        {
            repository.UseCache(packs);
        }
        RepositoryLock? repositoryLock = null;
        if (lockKind != LockKind.None)
        {
            repositoryLock = await RepositoryLock.AcquireAsync(repository, lockKind == LockKind.Exclusive, operation, time, cancellationToken);
        }
        try
        {
            if (loadIndex)
            {
                await repository.LoadIndexAsync(cancellationToken);
            }
        }
        catch
        {
            if (repositoryLock is not null)
            {
                await repositoryLock.DisposeAsync();
            }
            throw;
        }
        return new RepositorySession(repository, repositoryLock, time);
    }

    public async ValueTask DisposeAsync()
    {
        await Repository.DisposeAsync();
        if (Lock is not null)
        {
            await Lock.DisposeAsync();
        }
    }
}

public enum LockKind
{
    None,
    Shared,
    Exclusive,
}
