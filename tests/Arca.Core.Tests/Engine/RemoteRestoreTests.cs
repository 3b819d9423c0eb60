using Arca.Repo;
using Arca.Restore;
using Arca.Storage;
using Arca.TestKit;

namespace Arca.Core.Tests.Engine;

/// <summary>
/// A restore from storage that calls itself remote (as S3 does) reads each pack it needs once, blobs in the
/// order they lie: few requests, and no byte fetched that the restore does not need.
/// </summary>
public sealed class RemoteRestoreTests : IDisposable
{
    private readonly EngineFixture _fixture = new(local => new CountingRemoteStorage(local));

    private CountingRemoteStorage Remote => (CountingRemoteStorage)_fixture.RepositoryStorage;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Small_files_and_the_chunks_of_large_ones_share_requests_and_each_byte_is_fetched_about_once()
    {
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            _fixture.Write($"d{i % 7}/f{i:D3}.txt",
                string.Join('\n', Enumerable.Range(0, 40 + random.Next(200)).Select(n => $"line {n} of file {i}: {random.Next()}")));
        }
        for (var i = 0; i < 8; i++)
        {
            var big = new byte[(2 << 20) + random.Next(1 << 20)];
            random.NextBytes(big);
            _fixture.Write($"d{i % 7}/big{i}.bin", big);
        }
        await (await _fixture.CreateRepositoryAsync()).DisposeAsync();
        var (snapshot, _) = await _fixture.BackupAsync();
        Remote.PackReads = 0;
        Remote.PackBytesRead = 0;

        long needed;
        await using (var repository = await _fixture.OpenAsync())
        {
            needed = repository.Index.ByPack().Values.SelectMany(blobs => blobs).Sum(b => (long)b.StoredLength);
        }
        // As many workers as a restore from S3 runs, each wanting a different part of the packs.
        var target = Path.Combine(_fixture.Root, "out");
        var result = await _fixture.RestoreAsync(snapshot, new RestoreOptions { Target = target, Workers = 16 });

        result.Errors.ShouldBeEmpty();
        TreeAssert.Identical(_fixture.Source, Path.Combine(target, "src"));
        // Every stored byte is needed once (trees while planning, data while restoring). A window may be
        // dropped before all its blobs were used and be fetched again, but nothing is fetched many times over.
        Remote.PackBytesRead.ShouldBeLessThanOrEqualTo(needed * 5 / 4);
        // 300 small files, their trees and the big files' chunks (about 20 MiB stored in all) come in a few windows
        // (13 requests when written; 34 when each large chunk was fetched alone).
        Remote.PackReads.ShouldBeLessThan(20);
    }

    [Fact]
    public async Task After_many_backups_each_pack_the_snapshot_needs_is_read_once()
    {
        var random = new Random(11);
        byte[] Content()
        {
            var bytes = new byte[100_000 + random.Next(100_000)];
            random.NextBytes(bytes);
            return bytes;
        }
        // About 45 MiB: three packs, each read in 2 MiB windows when files asked for their blobs one by one.
        for (var i = 0; i < 300; i++)
        {
            _fixture.Write($"d{i % 4}/f{i:D3}.bin", Content());
        }
        await (await _fixture.CreateRepositoryAsync()).DisposeAsync();
        var (snapshot, _) = await _fixture.BackupAsync();
        // Six more backups, each rewriting three files: the last snapshot's files lie in the packs of all seven.
        for (var round = 0; round < 6; round++)
        {
            for (var k = 0; k < 3; k++)
            {
                var i = random.Next(300);
                _fixture.Write($"d{i % 4}/f{i:D3}.bin", Content());
            }
            (snapshot, _) = await _fixture.BackupAsync(snapshot);
        }

        int packsNeeded;
        long bytesOfThosePacks;
        await using (var repository = await _fixture.OpenAsync())
        {
            var blobs = new HashSet<BlobId>();
            var pending = new Stack<BlobId>([snapshot.Tree]);
            while (pending.TryPop(out var id))
            {
                blobs.Add(id);
                foreach (var node in (await repository.LoadTreeAsync(id, CancellationToken.None)).Nodes)
                {
                    blobs.UnionWith(node.Content ?? []);
                    if (node.Subtree is { } subtree)
                    {
                        pending.Push(subtree);
                    }
                }
            }
            var locations = blobs.Select(b => repository.Index.TryGet(b, out var l) ? l : throw new InvalidOperationException()).ToList();
            var packs = locations.Select(l => l.Pack).ToHashSet();
            packsNeeded = packs.Count;
            bytesOfThosePacks = repository.Index.ByPack().Where(p => packs.Contains(p.Key)).Sum(p => p.Value.Sum(b => (long)b.StoredLength));
        }
        Remote.PackReads = 0;
        Remote.PackBytesRead = 0;

        var target = Path.Combine(_fixture.Root, "out");
        var result = await _fixture.RestoreAsync(snapshot, new RestoreOptions { Target = target, Workers = 16 });

        result.Errors.ShouldBeEmpty();
        TreeAssert.Identical(_fixture.Source, Path.Combine(target, "src"));
        packsNeeded.ShouldBeGreaterThan(7);
        // Trees while planning (a window at a time), then each data pack once.
        Remote.PackReads.ShouldBeLessThanOrEqualTo(packsNeeded + 2);
        // Short runs of what lies between needed blobs (older versions of rewritten files) are read past; no byte twice.
        Remote.PackBytesRead.ShouldBeLessThanOrEqualTo(bytesOfThosePacks);
    }
}
