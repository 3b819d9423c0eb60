using Arca.Storage;
using Arca.TestKit;
namespace Arca.Cli.Tests;

/// <summary>A flipped byte in a pack, seen from the command line: check names it, restore refuses wrong bytes. Runs once per <see cref="Cli.Tests.Backend"/>.</summary>
public abstract class CorruptionTests
{
    protected abstract Backend Backend { get; }

    [Fact]
    public async Task A_flipped_byte_fails_check_with_the_pack_and_files_named_and_restore_writes_no_wrong_bytes()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        var env = sandbox.BinaryEnvironment();
        var source = sandbox.Path("data");
        Directory.CreateDirectory(source);
        var payload = new byte[3 << 20];
        new Random(9).NextBytes(payload);
        await File.WriteAllBytesAsync(Path.Combine(source, "only.bin"), payload);
        (await BuiltProgram.ArcaAsync(env, "init")).Code.ShouldBe(0);
        (await BuiltProgram.ArcaAsync(env, "backup", source)).Code.ShouldBe(0);

        // Two packs: the file's content, and the trees (the smaller one).
        var packs = await sandbox.PackNamesAsync();
        packs.Count.ShouldBe(2);
        var contents = new Dictionary<string, byte[]>();
        foreach (var name in packs)
        {
            contents[name] = await sandbox.ReadFileAsync(new StorageKey(StorageKind.Pack, name));
        }
        var pack = contents.MaxBy(p => p.Value.Length).Key;
        var key = new StorageKey(StorageKind.Pack, pack);
        var bytes = contents[pack];
        bytes[bytes.Length / 3] ^= 0x40;
        await sandbox.ReplaceFileAsync(key, bytes);

        var structure = await BuiltProgram.ArcaAsync(env, "check");
        structure.Code.ShouldBe(0, "a structural check does not read data: " + structure.Error);

        var check = await BuiltProgram.ArcaAsync(env, "check", "--read-data");
        check.Code.ShouldBe(15);
        check.Error.ShouldContain(pack);
        check.Error.ShouldContain("/data/only.bin");
        check.Error.ShouldNotContain("   at ");

        var json = await BuiltProgram.ArcaAsync(env, "check", "--read-data", "--json");
        json.Code.ShouldBe(15);
        using (var doc = System.Text.Json.JsonDocument.Parse(json.Out))
        {
            doc.RootElement.GetProperty("ok").GetBoolean().ShouldBeFalse();
            doc.RootElement.GetProperty("damaged_packs")[0].GetProperty("pack").GetString().ShouldBe(pack);
        }

        var target = sandbox.Path("restored");
        var restore = await BuiltProgram.ArcaAsync(env, "restore", "latest", "--target", target);
        restore.Code.ShouldBe(15);
        restore.Error.ShouldContain("only.bin");
        File.Exists(Path.Combine(target, "data", "only.bin")).ShouldBeFalse();
        Directory.GetFiles(target, "*", SearchOption.AllDirectories).ShouldBeEmpty("no partial or temporary file may remain");
    }
}

public sealed class CorruptionTestsOnLocal : CorruptionTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class CorruptionTestsOnS3 : CorruptionTests
{
    protected override Backend Backend => Backend.S3;
}
