using Arca.Repo;
using Arca.Repo.Crypto;
using Arca.Repo.Format;
using Arca.Storage;

namespace Arca.Operations;

/// <summary>One password's key file, as 'arca key list' shows it.</summary>
public sealed record KeyInfo(string Id, DateTimeOffset Created, string Hostname, string Username, bool Current);

/// <summary>
/// The passwords of a repository: each is a key file wrapping the same master key, so adding or removing one
/// never touches data. The last key is never removed, nor the one this session opened with (change that one
/// with <see cref="ChangePasswordAsync"/>, which adds the new key before it removes the old).
/// </summary>
public sealed class KeyOperation(TimeProvider time)
{
    public async Task<IReadOnlyList<KeyInfo>> ListAsync(RepositorySession session, CancellationToken cancellationToken)
    {
        var repository = session.Repository;
        return [.. (await repository.ListKeysAsync(cancellationToken))
            .Select(k => new KeyInfo(k.Name, k.File.Created, k.File.Hostname, k.File.Username, k.Name == repository.KeyName))];
    }

    public async Task<string> AddAsync(RepositorySession session, string newPassword, KdfParameters kdf, CancellationToken cancellationToken)
    {
        RequirePassword(newPassword);
        await session.LockAsync(LockKind.Exclusive, "key add", cancellationToken);
        var repository = session.Repository;
        return await Repository.AddKeyAsync(repository.Storage, repository.Key, newPassword, kdf, time, cancellationToken);
    }

    /// <summary>Removes the key whose id starts with <paramref name="idPrefix"/>; returns its full id.</summary>
    public async Task<string> RemoveAsync(RepositorySession session, string idPrefix, CancellationToken cancellationToken)
    {
        var keys = await session.Repository.ListKeysAsync(cancellationToken);
        var prefix = idPrefix.Trim().ToLowerInvariant();
        var matches = prefix.Length == 0 ? [] : keys.Where(k => k.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (matches.Count == 0)
        {
            throw new ArcaException(ErrorCode.Usage, $"No key has an id starting with '{idPrefix}'.", "List them with 'arca key list'.");
        }
        if (matches.Count > 1)
        {
            throw new ArcaException(ErrorCode.Usage, $"'{idPrefix}' starts the ids of {matches.Count} keys.", "Give more of the id.");
        }
        var name = matches[0].Name;
        if (keys.Count == 1)
        {
            throw new ArcaException(ErrorCode.Usage, "That is the repository's only key: without it no password could open the repository.",
                "Add another with 'arca key add' first.");
        }
        if (name == session.Repository.KeyName)
        {
            throw new ArcaException(ErrorCode.Usage, "That key is the one this command was opened with.",
                "Change its password with 'arca key passwd', or open with another password to remove it.");
        }
        await session.LockAsync(LockKind.Exclusive, "key remove", cancellationToken);
        await session.Repository.Storage.DeleteAsync(new StorageKey(StorageKind.Key, name), cancellationToken);
        return name;
    }

    /// <summary>Replaces the password this session opened with: the new key is written before the old one goes.</summary>
    public async Task<(string Added, string Removed)> ChangePasswordAsync(RepositorySession session, string newPassword, KdfParameters kdf,
        CancellationToken cancellationToken)
    {
        var added = await AddAsync(session, newPassword, kdf, cancellationToken);
        var old = session.Repository.KeyName;
        await session.Repository.Storage.DeleteAsync(new StorageKey(StorageKind.Key, old), cancellationToken);
        return (added, old);
    }

    private static void RequirePassword(string password)
    {
        if (password.Length == 0)
        {
            throw new ArcaException(ErrorCode.Usage, "The new password is empty.", "Choose a password: an empty one protects nothing.");
        }
    }
}
