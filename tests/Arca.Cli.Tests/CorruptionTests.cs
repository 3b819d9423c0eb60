using Arca.TestKit;
namespace Arca.Cli.Tests;

/// <summary>A flipped byte in a pack, seen from the command line: check names it, restore refuses wrong bytes.</summary>
public sealed class CorruptionTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly Dictionary<string, string> _env;

    public CorruptionTests()
    {
        _env = new()
        {
            ["ARCA_REPOSITORY"] = Path.Combine(_temp.Path, "repo"),
            ["ARCA_PASSWORD"] = "corrupt",
            ["ARCA_INSECURE_TEST_KDF"] = "1",
        };
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_flipped_byte_fails_check_with_the_pack_and_files_named_and_restore_writes_no_wrong_bytes()
    {
        var source = Path.Combine(_temp.Path, "data");
        Directory.CreateDirectory(source);
        var payload = new byte[3 << 20];
        new Random(9).NextBytes(payload);
        await File.WriteAllBytesAsync(Path.Combine(source, "only.bin"), payload);
        (await BuiltProgram.ArcaAsync(_env, "init")).Code.ShouldBe(0);
        (await BuiltProgram.ArcaAsync(_env, "backup", source)).Code.ShouldBe(0);

        var pack = Directory.GetFiles(Path.Combine(_temp.Path, "repo", "data"), "*", SearchOption.AllDirectories).ShouldHaveSingleItem();
        File.SetAttributes(pack, FileAttributes.Normal);
        var bytes = await File.ReadAllBytesAsync(pack);
        bytes[bytes.Length / 3] ^= 0x40;
        await File.WriteAllBytesAsync(pack, bytes);

        var structure = await BuiltProgram.ArcaAsync(_env, "check");
        structure.Code.ShouldBe(0, "a structural check does not read data: " + structure.Error);

        var check = await BuiltProgram.ArcaAsync(_env, "check", "--read-data");
        check.Code.ShouldBe(15);
        check.Error.ShouldContain(Path.GetFileName(pack));
        check.Error.ShouldContain("/data/only.bin");
        check.Error.ShouldNotContain("   at ");

        var json = await BuiltProgram.ArcaAsync(_env, "check", "--read-data", "--json");
        json.Code.ShouldBe(15);
        using (var doc = System.Text.Json.JsonDocument.Parse(json.Out))
        {
            doc.RootElement.GetProperty("ok").GetBoolean().ShouldBeFalse();
            doc.RootElement.GetProperty("damaged_packs")[0].GetProperty("pack").GetString().ShouldBe(Path.GetFileName(pack));
        }

        var target = Path.Combine(_temp.Path, "restored");
        var restore = await BuiltProgram.ArcaAsync(_env, "restore", "latest", "--target", target);
        restore.Code.ShouldBe(15);
        restore.Error.ShouldContain("only.bin");
        File.Exists(Path.Combine(target, "data", "only.bin")).ShouldBeFalse();
        Directory.GetFiles(target, "*", SearchOption.AllDirectories).ShouldBeEmpty("no partial or temporary file may remain");
    }
}
