using Arca.TestKit;
using System.Security.Cryptography;
using Arca.Native;

namespace Arca.Cli.Tests;

/// <summary>A tree no one here wrote (the .NET SDK on this machine) restores byte-identical with its modes and mtimes.</summary>
public sealed class RealTreeRoundTripTests : IDisposable
{
    private const string SdkFolder = "/usr/share/dotnet";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_dotnet_sdk_folder_restores_identical_in_bytes_modes_mtimes_and_links()
    {
        Directory.Exists(SdkFolder).ShouldBeTrue($"{SdkFolder} is the tree this test restores; install the .NET SDK there");
        var env = new Dictionary<string, string>
        {
            ["ARCA_REPOSITORY"] = Path.Combine(_temp.Path, "repo"),
            ["ARCA_PASSWORD"] = "sdk",
            ["ARCA_INSECURE_TEST_KDF"] = "1",
        };
        (await BuiltProgram.ArcaAsync(env, "init")).Code.ShouldBe(0);
        // dotnet itself writes into metadata/ whenever it runs (the test host included), so that folder
        // changes under the test; it is left out, and everything else must come back exactly.
        var backup = await BuiltProgram.ArcaAsync(env, "backup", SdkFolder, "--exclude", SdkFolder + "/metadata", "--json");
        backup.Code.ShouldBe(0, backup.Error);
        var target = Path.Combine(_temp.Path, "restored");
        var restore = await BuiltProgram.ArcaAsync(env, "restore", "latest", "--target", target);
        restore.Code.ShouldBe(0, restore.Error);

        var differences = Compare(SdkFolder, Path.Combine(target, "dotnet"), skip: "metadata");
        differences.ShouldBeEmpty(string.Join("\n", differences.Take(10)));
    }

    /// <summary>Every entry under both roots: type, permission bits, size, mtime to the nanosecond, link target, content hash.</summary>
    internal static List<string> Compare(string expectedRoot, string actualRoot, string? skip = null)
    {
        var differences = new List<string>();
        var expected = Describe(expectedRoot);
        if (skip is not null)
        {
            foreach (var key in expected.Keys.Where(k => k == skip || k.StartsWith(skip + "/", StringComparison.Ordinal)).ToList())
            {
                expected.Remove(key);
            }
        }
        var actual = Describe(actualRoot);
        foreach (var (path, description) in expected)
        {
            if (!actual.TryGetValue(path, out var other))
            {
                differences.Add($"missing: {path}");
            }
            else if (other != description)
            {
                differences.Add($"differs: {path}: expected {description}, got {other}");
            }
        }
        differences.AddRange(actual.Keys.Except(expected.Keys).Select(p => $"extra: {p}"));
        return differences;
    }

    private static Dictionary<string, string> Describe(string root)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Append(root))
        {
            var status = Posix.LinkStatus(path);
            var type = status.Mode & 0xF000;
            var description = $"type {type:x} mode {Convert.ToString(status.Mode & 0xFFF, 8)} mtime {status.ModifyTimeNs}";
            if (type == 0x8000)
            {
                using var stream = File.OpenRead(path);
                description += $" size {status.Size} sha256 {Convert.ToHexString(SHA256.HashData(stream))}";
            }
            else if (type == 0xA000)
            {
                description += $" -> {new FileInfo(path).LinkTarget}";
            }
            result[Path.GetRelativePath(root, path)] = description;
        }
        return result;
    }
}
