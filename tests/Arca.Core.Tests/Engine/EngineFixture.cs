using Arca.Backup;
using Arca.Repo;
using Arca.Repo.Crypto;
using Arca.Repo.Packs;
using Arca.Restore;
using Arca.Storage;
using Arca.Storage.Local;
using Arca.Trees;

namespace Arca.Core.Tests.Engine;

/// <summary>A real repository in a real temp folder, with a source folder beside it, for engine tests.</summary>
internal sealed class EngineFixture : IDisposable
{
    /// <param name="wrap">Puts a decorator over the folder for every repository the fixture opens.</param>
    public EngineFixture(Func<LocalStorage, IStorage>? wrap = null)
    {
        Root = Path.Combine(Path.GetTempPath(), "arca-engine-" + Guid.NewGuid().ToString("N")[..10]);
        Source = Path.Combine(Root, "src");
        Directory.CreateDirectory(Source);
        Storage = new LocalStorage(Path.Combine(Root, "repo"));
        RepositoryStorage = wrap?.Invoke(Storage) ?? Storage;
    }

    public string Root { get; }
    public string Source { get; }
    public LocalStorage Storage { get; }

    /// <summary>What repositories are opened on: <see cref="Storage"/>, or the decorator over it.</summary>
    public IStorage RepositoryStorage { get; }

    public async Task<Repository> CreateRepositoryAsync() =>
        await Repository.InitAsync(RepositoryStorage, "pw", new RepositoryOptions { Kdf = KdfParameters.Insecure }, TimeProvider.System, CancellationToken.None);

    /// <summary>When set, repositories are opened with a <see cref="PackCache"/> under this folder (it works only on remote storage).</summary>
    public string? CacheRoot { get; set; }

    public async Task<Repository> OpenAsync()
    {
        var repository = await Repository.OpenAsync(RepositoryStorage, "pw", CancellationToken.None);
        if (CacheRoot is not null)
        {
            repository.UseCache(PackCache.Open(CacheRoot, repository.Id)!);
        }
        await repository.LoadIndexAsync(CancellationToken.None);
        return repository;
    }

    /// <summary>Backs up <see cref="Source"/> with a fresh repository handle (as a new process would).</summary>
    public async Task<(Snapshot Snapshot, SnapshotId Id)> BackupAsync(Snapshot? parent = null, ArchiverOptions? options = null)
    {
        var repository = await OpenAsync();
        var parentRoot = parent is null ? null : await repository.LoadTreeAsync(parent.Tree, CancellationToken.None);
        var archiver = new Archiver(repository, repository, repository.Chunker, options ?? new ArchiverOptions(), IBackupProgress.None);
        var start = DateTimeOffset.UtcNow;
        var root = await archiver.ArchiveAsync([Source], parentRoot, CancellationToken.None);
        await repository.FlushAsync(CancellationToken.None);
        var snapshot = new Snapshot
        {
            Time = start,
            Tree = root,
            Paths = [Source],
            Hostname = "test",
            Summary = archiver.Summary(start, DateTimeOffset.UtcNow, repository.AddedSoFar),
        };
        return (snapshot, await repository.SaveSnapshotAsync(snapshot, CancellationToken.None));
    }

    public async Task<RestoreResult> RestoreAsync(Snapshot snapshot, RestoreOptions options)
    {
        var repository = await OpenAsync();
        var restorer = new Restorer(repository, repository, IRestoreProgress.None);
        return (await restorer.RestoreAsync(snapshot.Tree, options, CancellationToken.None)).Result;
    }

    public void Write(string relative, string text)
    {
        var path = Path.Combine(Source, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    public void Write(string relative, byte[] bytes)
    {
        var path = Path.Combine(Source, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    public void Dispose()
    {
        if (!Directory.Exists(Root))
        {
            return;
        }
        foreach (var file in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            File.SetAttributes(file, FileAttributes.Normal);
        }
        Directory.Delete(Root, recursive: true);
    }
}
