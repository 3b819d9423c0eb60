using Arca.Repo;
using Arca.Storage;

namespace Arca.Core.Tests.Engine;

public sealed class CheckerTests
{
    private static async Task<EngineFixture> TwoSnapshotsAsync()
    {
        var fx = new EngineFixture();
        await fx.CreateRepositoryAsync();
        var random = new Random(3);
        for (var i = 0; i < 20; i++)
        {
            var bytes = new byte[random.Next(1000, 300_000)];
            random.NextBytes(bytes);
            fx.Write($"dir{i % 3}/file{i}.bin", bytes);
        }
        fx.Write("notes.txt", string.Concat(Enumerable.Repeat("compressible text ", 5000)));
        var (first, _) = await fx.BackupAsync();
        fx.Write("later.txt", "added later");
        await fx.BackupAsync(first);
        return fx;
    }

    private static async Task<CheckResult> CheckAsync(EngineFixture fx, double fraction = 1)
    {
        var repository = await Repository.OpenAsync(fx.Storage, "pw", CancellationToken.None);
        return await new Checker(repository).CheckAsync(fraction, CancellationToken.None);
    }

    [Fact]
    public async Task A_fresh_repository_with_snapshots_checks_whole_reading_every_pack()
    {
        using var fx = await TwoSnapshotsAsync();
        var result = await CheckAsync(fx);
        result.IsWhole.ShouldBeTrue(string.Join("; ", result.Problems));
        result.Snapshots.ShouldBe(2);
        result.PacksRead.ShouldBe(result.Packs);
        result.UnreferencedPacks.ShouldBe(0);
    }

    [Fact]
    public async Task A_flipped_byte_anywhere_in_a_pack_is_found_and_the_pack_and_files_are_named()
    {
        using var fx = await TwoSnapshotsAsync();
        var packs = Directory.GetFiles(Path.Combine(fx.Storage.Root, "data"), "*", SearchOption.AllDirectories);
        var random = new Random(11);
        // Every position class: the first byte, a random inside byte, the trailer, the last length byte.
        foreach (var pack in packs)
        {
            var original = File.ReadAllBytes(pack);
            foreach (var position in new[] { 0, random.Next(1, original.Length - 5), original.Length - 40, original.Length - 1 })
            {
                File.SetAttributes(pack, FileAttributes.Normal);
                var bytes = (byte[])original.Clone();
                bytes[position] ^= 0x10;
                File.WriteAllBytes(pack, bytes);

                var result = await CheckAsync(fx);
                result.IsWhole.ShouldBeFalse($"a flip at {position} of {Path.GetFileName(pack)} went unnoticed");
                var damaged = result.DamagedPacks.ShouldHaveSingleItem();
                damaged.Pack.ToString().ShouldBe(Path.GetFileName(pack));
                damaged.AffectedFiles.ShouldNotBeEmpty();

                File.WriteAllBytes(pack, original);
            }
        }
        (await CheckAsync(fx)).IsWhole.ShouldBeTrue();
    }

    [Fact]
    public async Task A_missing_pack_is_a_structural_problem_found_without_reading_data()
    {
        using var fx = await TwoSnapshotsAsync();
        var pack = Directory.GetFiles(Path.Combine(fx.Storage.Root, "data"), "*", SearchOption.AllDirectories)[0];
        File.Delete(pack);
        var result = await CheckAsync(fx, fraction: 0);
        result.IsWhole.ShouldBeFalse();
        result.Problems.ShouldContain(p => p.Contains(Path.GetFileName(pack)) && p.Contains("missing"));
    }

    [Fact]
    public async Task A_pack_without_an_index_entry_is_reported_as_unreferenced_not_as_damage()
    {
        using var fx = await TwoSnapshotsAsync();
        // What an interrupted backup leaves: a pack that no index file names.
        var stray = new byte[1000];
        new Random(2).NextBytes(stray);
        var name = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stray));
        await fx.Storage.PutBytesAsync(new StorageKey(StorageKind.Pack, name), stray, CancellationToken.None);
        var result = await CheckAsync(fx);
        result.IsWhole.ShouldBeTrue();
        result.UnreferencedPacks.ShouldBe(1);
    }

    [Fact]
    public async Task A_damaged_index_file_is_reported()
    {
        using var fx = await TwoSnapshotsAsync();
        var index = Directory.GetFiles(Path.Combine(fx.Storage.Root, "index"))[0];
        File.SetAttributes(index, FileAttributes.Normal);
        var bytes = File.ReadAllBytes(index);
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(index, bytes);
        var result = await CheckAsync(fx, fraction: 0);
        result.IsWhole.ShouldBeFalse();
        result.Problems.ShouldContain(p => p.Contains(Path.GetFileName(index)));
    }
}
