using System.Security.Cryptography;
using System.Text.Json;
using Arca.Native;
using Arca.Repo.Format;
using Arca.Storage;

namespace Arca.Repo;

/// <summary>
/// A lock on a repository, recorded in <c>locks/</c> with host, pid and time. Backups take shared locks
/// (any number at once); deleting operations take an exclusive one. The lock is refreshed every
/// <see cref="RefreshEvery"/>; a lock not refreshed for <see cref="StaleAfter"/>, or whose process is
/// gone on this host, is stale: it is reported and ignored, and <c>arca unlock</c> removes it.
/// If a refresh fails, <see cref="Lost"/> is cancelled so the operation stops before it does harm.
/// </summary>
public sealed class RepositoryLock : IAsyncDisposable
{
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(30);

    private readonly Repository _repository;
    private readonly LockFile _record;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _lost = new();
    private readonly ITimer _timer;
    private StorageKey _key;

    private RepositoryLock(Repository repository, LockFile record, StorageKey key, TimeProvider time, IReadOnlyList<LockInfo> stale)
    {
        _repository = repository;
        _record = record;
        _key = key;
        _time = time;
        StaleLocks = stale;
        _timer = time.CreateTimer(_ => _ = RefreshAsync(), null, RefreshEvery, RefreshEvery);
    }

    public IReadOnlyList<LockInfo> StaleLocks { get; }
    public CancellationToken Lost => _lost.Token;

    public sealed record LockInfo(string Name, LockFile Record, bool IsStale);

    public static async Task<RepositoryLock> AcquireAsync(Repository repository, bool exclusive, string operation, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var record = new LockFile(time.GetUtcNow(), exclusive, Environment.MachineName, Environment.UserName, Environment.ProcessId, operation);
        var key = await WriteAsync(repository, record, cancellationToken);
        // Written first, then checked: two processes racing both see each other and the loser backs off.
        var others = await ListAsync(repository, time, cancellationToken);
        var conflicts = others.Where(l => l.Name != key.Name && !l.IsStale && (exclusive || l.Record.Exclusive)).ToList();
        if (conflicts.Count > 0)
        {
            await repository.Storage.DeleteAsync(key, CancellationToken.None);
            var c = conflicts[0].Record;
            throw new ArcaException(ErrorCode.RepositoryLocked,
                $"The repository is locked {(c.Exclusive ? "exclusively" : "")} by '{c.Operation}' (pid {c.Pid} on {c.Hostname}, since {c.Time:u}).".Replace("  ", " ", StringComparison.Ordinal),
                "Wait for it to finish; if that process is gone, 'arca unlock' removes its lock.");
        }
        return new RepositoryLock(repository, record, key, time, [.. others.Where(l => l.IsStale)]);
    }

    /// <summary>Every lock in the repository, each judged stale or live.</summary>
    public static async Task<List<LockInfo>> ListAsync(Repository repository, TimeProvider time, CancellationToken cancellationToken)
    {
        var result = new List<LockInfo>();
        await foreach (var entry in repository.Storage.ListAsync(StorageKind.Lock, cancellationToken))
        {
            LockFile? record;
            try
            {
                var bytes = await repository.Storage.ReadAllAsync(entry.Key, cancellationToken);
                record = JsonSerializer.Deserialize(repository.OpenFile(bytes, $"Lock {entry.Key.Name}"), FormatJson.Default.LockFile);
            }
            catch (Exception ex) when (ex is StorageNotFoundException or InvalidDataException or JsonException)
            {
                continue; // removed meanwhile, or unreadable: an unreadable lock cannot protect anything.
            }
            if (record is not null)
            {
                result.Add(new LockInfo(entry.Key.Name, record, IsStale(record, time)));
            }
        }
        return result;
    }

    public static bool IsStale(LockFile record, TimeProvider time)
    {
        if (time.GetUtcNow() - record.Time > StaleAfter)
        {
            return true;
        }
        return record.Hostname == Environment.MachineName && record.Pid != Environment.ProcessId && !Posix.IsProcessAlive(record.Pid);
    }

    private static async Task<StorageKey> WriteAsync(Repository repository, LockFile record, CancellationToken cancellationToken)
    {
        var bytes = repository.SealFile(JsonSerializer.SerializeToUtf8Bytes(record, FormatJson.Default.LockFile));
        var key = new StorageKey(StorageKind.Lock, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        await repository.Storage.PutBytesAsync(key, bytes, cancellationToken);
        return key;
    }

    private async Task RefreshAsync()
    {
        try
        {
            var old = _key;
            _key = await WriteAsync(_repository, _record with { Time = _time.GetUtcNow() }, _lost.Token);
            await _repository.Storage.DeleteAsync(old, _lost.Token);
        }
        catch (Exception)
        {
            // Without a fresh lock another process may take over: stop the operation.
            await _lost.CancelAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync();
        try
        {
            await _repository.Storage.DeleteAsync(_key, CancellationToken.None);
        }
        catch (StorageException)
        {
            // A lock left behind goes stale; nothing more to do on the way out.
        }
        _lost.Dispose();
    }
}
