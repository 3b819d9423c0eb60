using Arca.Restore;
using Arca.Storage;
using Arca.TestKit;

namespace Arca.Core.Tests.Engine;

/// <summary>
/// A restore from storage that calls itself remote (as S3 does) reads packs a window of consecutive blobs at a
/// time: few requests, and no byte fetched that the restore does not need.
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
}
