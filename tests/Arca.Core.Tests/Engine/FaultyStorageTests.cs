using Arca.Backup;
using Arca.Repo;
using Arca.Repo.Crypto;
using Arca.Restore;
using Arca.Storage;
using Arca.Storage.Decorators;
using Arca.Storage.Local;
using Arca.TestKit;
using Arca.Trees;

namespace Arca.Core.Tests.Engine;

/// <summary>
/// Backups and restores through storage that fails one operation in twenty (before or after the write
/// landed), cuts reads short and adds latency, with retries on top: every round must complete and be exact,
/// and the repository must check whole afterwards, read through storage without faults.
/// </summary>
public sealed class FaultyStorageTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly TempDirectory _temp = new("faulty");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Twenty_backups_and_restores_at_a_five_percent_failure_rate_complete_exactly()
    {
        var local = new LocalStorage(_temp.Combine("repo"));
        var faulty = new FaultInjectingStorage(local, new FaultOptions
        {
            FailureRate = 0.05,
            FailAfterPutRate = 0.05,
            ShortReadRate = 0.05,
            MaxLatency = TimeSpan.FromMilliseconds(2),
            Seed = 20261122,
        });
        // Short waits keep the test quick; 10 retries at 5% leave about one chance in 10^13 per operation.
        var storage = new RetryingStorage(faulty, new RetryOptions
        {
            MaxRetryAttempts = 10,
            BaseDelay = TimeSpan.FromMilliseconds(1),
            MaxDelay = TimeSpan.FromMilliseconds(20),
        });
        await storage.CreateAsync(None);
        await Repository.InitAsync(storage, "pw", new RepositoryOptions { Kdf = KdfParameters.Insecure, PackSize = 1 << 20 },
            TimeProvider.System, None);
        var source = _temp.Combine("src");
        var random = new Random(7);
        Snapshot? parent = null;

        for (var round = 0; round < 20; round++)
        {
            // Each round changes some files and adds one, so every backup writes packs and index files.
            Directory.CreateDirectory(Path.Combine(source, $"d{round % 4}"));
            var bytes = new byte[random.Next(10_000, 600_000)];
            random.NextBytes(bytes);
            await File.WriteAllBytesAsync(Path.Combine(source, $"d{round % 4}", $"f{round}.bin"), bytes);
            await File.WriteAllTextAsync(Path.Combine(source, "log.txt"), string.Concat(Enumerable.Repeat($"round {round}\n", 5000 + round)));

            var repository = await Repository.OpenAsync(storage, "pw", None);
            await repository.LoadIndexAsync(None);
            var parentTree = parent is null ? null : await repository.LoadTreeAsync(parent.Tree, None);
            var archiver = new Archiver(repository, repository, repository.Chunker, new ArchiverOptions(), IBackupProgress.None);
            var root = await archiver.ArchiveAsync([source], parentTree, None);
            await repository.FlushAsync(None);
            var snapshot = new Snapshot { Time = DateTimeOffset.UtcNow, Tree = root, Paths = [source], Hostname = "faulty" };
            await repository.SaveSnapshotAsync(snapshot, None);
            archiver.Summary(snapshot.Time, snapshot.Time, repository.AddedSoFar).Errors.ShouldBeEmpty();
            parent = snapshot;

            var reader = await Repository.OpenAsync(storage, "pw", None);
            await reader.LoadIndexAsync(None);
            var restorer = new Restorer(reader, reader, IRestoreProgress.None);
            var options = new RestoreOptions { Target = _temp.Combine($"restore-{round}") };
            var (_, result) = await restorer.RestoreAsync(root, options, None);
            result.Errors.ShouldBeEmpty();
            TreeAssert.Identical(source, Path.Combine(options.Target, "src"));
        }

        faulty.InjectedFaults.ShouldBeGreaterThan(20);
        var check = await new Checker(await Repository.OpenAsync(local, "pw", None)).CheckAsync(1.0, None);
        check.Problems.ShouldBeEmpty();
        check.DamagedPacks.ShouldBeEmpty();
        check.Snapshots.ShouldBe(20);
    }
}
