using System.Runtime.CompilerServices;
using Arca.Backup;
using Arca.Repo;
using Arca.Repo.Crypto;
using Arca.Restore;
using Arca.Storage;
using Arca.Storage.Local;
using Arca.TestKit;
using Arca.Trees;

namespace Arca.Core.Tests.Engine;

/// <summary>
/// A restore from storage that calls itself remote (as S3 does) reads packs a window at a time for small
/// blobs and blob by blob for large ones: few requests, and no byte fetched that the restore does not need.
/// </summary>
public sealed class RemoteRestoreTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly TempDirectory _temp = new("remote");

    public void Dispose() => _temp.Dispose();

    /// <summary>Local storage that says it is remote, and counts the pack reads and their bytes.</summary>
    private sealed class CountingRemoteStorage(IStorage inner) : IStorage
    {
        public int PackReads;
        public long PackBytesRead;

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
            }
            return inner.ReadAsync(key, offset, length, consume, cancellationToken);
        }

        public Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

        public async IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var entry in inner.ListAsync(kind, cancellationToken))
            {
                yield return entry;
            }
        }

        public Task DeleteAsync(StorageKey key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }

    private static async Task<Snapshot> BackupAsync(IStorage storage, string source)
    {
        await using var repository = await Repository.OpenAsync(storage, "pw", None);
        await repository.LoadIndexAsync(None);
        var archiver = new Archiver(repository, repository, repository.Chunker, new ArchiverOptions(), IBackupProgress.None);
        var root = await archiver.ArchiveAsync([source], null, None);
        await repository.FlushAsync(None);
        return new Snapshot { Time = DateTimeOffset.UtcNow, Tree = root, Paths = [source], Hostname = "test" };
    }

    [Fact]
    public async Task Small_files_share_requests_and_large_blobs_are_fetched_alone()
    {
        var source = _temp.Combine("src");
        var random = new Random(7);
        var smallFiles = 300;
        for (var i = 0; i < smallFiles; i++)
        {
            var text = string.Join('\n', Enumerable.Range(0, 40 + random.Next(200)).Select(n => $"line {n} of file {i}: {random.Next()}"));
            Directory.CreateDirectory(Path.Combine(source, $"d{i % 7}"));
            await File.WriteAllTextAsync(Path.Combine(source, $"d{i % 7}", $"f{i:D3}.txt"), text);
        }
        for (var i = 0; i < 8; i++)
        {
            var big = new byte[(2 << 20) + random.Next(1 << 20)];
            random.NextBytes(big);
            await File.WriteAllBytesAsync(Path.Combine(source, $"d{i % 7}", $"big{i}.bin"), big);
        }

        var storage = new CountingRemoteStorage(new LocalStorage(_temp.Combine("repo")));
        await Repository.InitAsync(storage, "pw", new RepositoryOptions { Kdf = KdfParameters.Insecure }, TimeProvider.System, None);
        var snapshot = await BackupAsync(storage, source);
        storage.PackReads = 0;
        storage.PackBytesRead = 0;

        await using var repository = await Repository.OpenAsync(storage, "pw", None);
        await repository.LoadIndexAsync(None);
        var needed = repository.Index.ByPack().Values.SelectMany(blobs => blobs).Sum(b => (long)b.StoredLength);
        var restorer = new Restorer(repository, repository, IRestoreProgress.None);
        // As many workers as a restore from S3 runs, each wanting a different part of the packs.
        var options = new RestoreOptions { Target = _temp.Combine("out"), Workers = 16 };
        var result = await restorer.ExecuteAsync(await restorer.PlanAsync(snapshot.Tree, options, None), options, None);

        result.Errors.ShouldBeEmpty();
        TreeAssert.Identical(source, Path.Combine(options.Target, "src"));
        // Every stored byte is needed once (trees while planning, data while restoring). A window may be
        // dropped before all its blobs were used and be fetched again, but nothing is fetched many times over.
        storage.PackBytesRead.ShouldBeLessThanOrEqualTo(needed * 5 / 4);
        // 300 small files and their trees come in a handful of windows; the big files' chunks one by one.
        storage.PackReads.ShouldBeLessThan(60);
    }
}
