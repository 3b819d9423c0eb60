using System.Security.Cryptography;
using System.Text.Json;
using Arca.Repo;
using Arca.Repo.Format;
using Arca.Storage;

namespace Arca.Core.Tests.Engine;

public sealed class RepositoryLockTests
{
    private static async Task PlantLockAsync(Repository repository, LockFile record)
    {
        var bytes = repository.SealFile(JsonSerializer.SerializeToUtf8Bytes(record, FormatJson.Default.LockFile));
        await repository.Storage.PutBytesAsync(new StorageKey(StorageKind.Lock, Convert.ToHexStringLower(SHA256.HashData(bytes))), bytes, CancellationToken.None);
    }

    private static int DeadPid()
    {
        // A pid above the kernel's maximum can never be alive.
        var max = int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim());
        return max + 1;
    }

    [Fact]
    public async Task Shared_locks_coexist_and_an_exclusive_one_is_refused_while_they_live()
    {
        using var fx = new EngineFixture();
        var repository = await fx.CreateRepositoryAsync();
        await using var first = await RepositoryLock.AcquireAsync(repository, exclusive: false, "backup", TimeProvider.System, CancellationToken.None);
        await using var second = await RepositoryLock.AcquireAsync(repository, exclusive: false, "backup", TimeProvider.System, CancellationToken.None);
        var ex = await Should.ThrowAsync<ArcaException>(() => RepositoryLock.AcquireAsync(repository, exclusive: true, "prune", TimeProvider.System, CancellationToken.None));
        ex.Code.ShouldBe(ErrorCode.RepositoryLocked);
        ex.Message.ShouldContain("backup");
        // The refused attempt removed its own lock file.
        (await RepositoryLock.ListAsync(repository, TimeProvider.System, CancellationToken.None)).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_lock_left_by_a_dead_process_on_this_host_is_stale_and_does_not_block()
    {
        using var fx = new EngineFixture();
        var repository = await fx.CreateRepositoryAsync();
        await PlantLockAsync(repository, new LockFile(DateTimeOffset.UtcNow, Exclusive: true, Environment.MachineName, "someone", DeadPid(), "prune"));
        await using var taken = await RepositoryLock.AcquireAsync(repository, exclusive: true, "prune", TimeProvider.System, CancellationToken.None);
        taken.StaleLocks.ShouldHaveSingleItem().Record.Operation.ShouldBe("prune");
    }

    [Fact]
    public async Task A_lock_of_another_host_blocks_until_it_is_older_than_the_stale_bound()
    {
        using var fx = new EngineFixture();
        var repository = await fx.CreateRepositoryAsync();
        var now = DateTimeOffset.UtcNow;
        await PlantLockAsync(repository, new LockFile(now.AddMinutes(-1), Exclusive: true, "other-host", "someone", 1234, "prune"));
        await Should.ThrowAsync<ArcaException>(() => RepositoryLock.AcquireAsync(repository, exclusive: false, "backup", TimeProvider.System, CancellationToken.None));

        var later = new FixedTime(now + RepositoryLock.StaleAfter + TimeSpan.FromMinutes(1));
        await using var taken = await RepositoryLock.AcquireAsync(repository, exclusive: false, "backup", later, CancellationToken.None);
        taken.StaleLocks.ShouldHaveSingleItem().Record.Hostname.ShouldBe("other-host");
    }

    [Fact]
    public async Task Disposing_a_lock_removes_its_file()
    {
        using var fx = new EngineFixture();
        var repository = await fx.CreateRepositoryAsync();
        await (await RepositoryLock.AcquireAsync(repository, exclusive: true, "prune", TimeProvider.System, CancellationToken.None)).DisposeAsync();
        (await RepositoryLock.ListAsync(repository, TimeProvider.System, CancellationToken.None)).ShouldBeEmpty();
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
