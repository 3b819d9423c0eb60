using Arca.Repo;
using Arca.Repo.Crypto;
using Arca.Storage;

namespace Arca.Core.Tests.Engine;

/// <summary>
/// The key that opened a remote repository last time, remembered on this host: the next opening derives it while the
/// first requests go out, and trusts it only if the repository still holds the same config and that key file.
/// </summary>
public sealed class KeyHintTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly EngineFixture _fixture = new(local => new CountingRemoteStorage(local));

    private CountingRemoteStorage Remote => (CountingRemoteStorage)_fixture.RepositoryStorage;

    private string CacheRoot => Path.Combine(_fixture.Root, "cache");

    private KeyHint Hint => KeyHint.For(CacheRoot, Remote.Properties.Location);

    public void Dispose() => _fixture.Dispose();

    private Task<Repository> OpenAsync(string password) => Repository.OpenAsync(Remote, password, Hint, None);

    [Fact]
    public async Task A_second_opening_takes_its_key_from_the_hint_without_listing_the_keys()
    {
        var created = await _fixture.CreateRepositoryAsync();
        Hint.Read().ShouldBeNull();

        var first = await OpenAsync("pw");
        Remote.KeyListings.ShouldBe(1);
        Hint.Read()!.KeyName.ShouldBe(created.KeyName);

        var second = await OpenAsync("pw");
        Remote.KeyListings.ShouldBe(1);
        second.KeyName.ShouldBe(created.KeyName);
        second.Id.ShouldBe(created.Id);
        await second.LoadIndexAsync(None); // the key decrypts what the repository holds
        (await Should.ThrowAsync<ArcaException>(() => OpenAsync("wrong"))).Code.ShouldBe(ErrorCode.WrongPassword);
    }

    [Fact]
    public async Task A_hint_whose_key_file_was_removed_no_longer_opens_the_repository()
    {
        var created = await _fixture.CreateRepositoryAsync();
        await OpenAsync("pw");
        // The password is changed: a new key file, the old one removed. The hint still holds the old file, which "pw" opens.
        var newName = await Repository.AddKeyAsync(Remote, created.Key, "new", KdfParameters.Insecure, TimeProvider.System, None);
        await Remote.DeleteAsync(new StorageKey(StorageKind.Key, created.KeyName), None);

        (await Should.ThrowAsync<ArcaException>(() => OpenAsync("pw"))).Code.ShouldBe(ErrorCode.WrongPassword);
        (await OpenAsync("new")).KeyName.ShouldBe(newName);
        Hint.Read()!.KeyName.ShouldBe(newName);
        var listings = Remote.KeyListings;
        await OpenAsync("new");
        Remote.KeyListings.ShouldBe(listings);
    }

    [Fact]
    public async Task A_new_repository_at_the_same_place_is_not_opened_with_the_old_ones_hint()
    {
        await _fixture.CreateRepositoryAsync();
        await OpenAsync("pw");
        Directory.Delete(Path.Combine(_fixture.Root, "repo"), recursive: true);
        var again = await _fixture.CreateRepositoryAsync();

        var opened = await OpenAsync("pw");
        opened.Id.ShouldBe(again.Id);
        opened.KeyName.ShouldBe(again.KeyName);
        Hint.Read()!.KeyName.ShouldBe(again.KeyName);
    }

    [Fact]
    public async Task A_damaged_hint_is_ignored_and_written_again()
    {
        var created = await _fixture.CreateRepositoryAsync();
        await OpenAsync("pw");
        var file = Directory.GetFiles(Path.Combine(CacheRoot, "keys")).ShouldHaveSingleItem();
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[^1] ^= 0x40; // the key file's last byte: its name no longer matches what the repository holds
        await File.WriteAllBytesAsync(file, bytes);

        (await OpenAsync("pw")).KeyName.ShouldBe(created.KeyName);
        await File.WriteAllBytesAsync(file, bytes[..10]);
        Hint.Read().ShouldBeNull();
        (await OpenAsync("pw")).KeyName.ShouldBe(created.KeyName);
        Hint.Read()!.KeyName.ShouldBe(created.KeyName);
        // Garbage where the magic is, then a length that claims 2 GiB: neither stops the repository from opening.
        await File.WriteAllBytesAsync(file, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3]);
        (await OpenAsync("pw")).KeyName.ShouldBe(created.KeyName);
        using (var writer = new BinaryWriter(File.Create(file)))
        {
            writer.Write("arca-key-hint-1");
            writer.Write(int.MaxValue);
        }
        Hint.Read().ShouldBeNull();
        (await OpenAsync("pw")).KeyName.ShouldBe(created.KeyName);
        Hint.Read()!.KeyName.ShouldBe(created.KeyName);
        ((File.GetUnixFileMode(Path.GetDirectoryName(file)!) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) == 0).ShouldBeTrue();
        ((File.GetUnixFileMode(file) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) == 0).ShouldBeTrue();
    }
}
