using Arca.Storage.InMemory;

namespace Arca.Storage.Tests;

public sealed class InMemoryStorageTests : StorageContract
{
    protected override IStorage CreateStorage() => new InMemoryStorage();

    [Fact]
    public async Task A_put_keeps_its_own_copy_of_the_bytes()
    {
        var storage = new InMemoryStorage();
        var key = new StorageKey(StorageKind.Index, "copy");
        var bytes = Bytes(10);

        await storage.PutBytesAsync(key, bytes, CancellationToken.None);
        bytes[0] ^= 0xff;

        (await storage.ReadAllAsync(key, CancellationToken.None))[0].ShouldBe((byte)(bytes[0] ^ 0xff));
    }

    [Fact]
    public async Task A_put_whose_stream_fails_stores_nothing_and_is_a_permanent_error()
    {
        var storage = new InMemoryStorage();
        var key = new StorageKey(StorageKind.Index, "broken");

        var error = await Should.ThrowAsync<StorageException>(
            () => storage.PutAsync(key, new BrokenStream(), CancellationToken.None));

        error.IsTransient.ShouldBeFalse();
        storage.Count.ShouldBe(0);
    }

    [Fact]
    public async Task A_cancelled_put_stores_nothing()
    {
        var storage = new InMemoryStorage();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(
            () => storage.PutBytesAsync(new StorageKey(StorageKind.Lock, "l"), Bytes(10), cancelled.Token));

        storage.Count.ShouldBe(0);
    }
}
