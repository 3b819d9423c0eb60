using Arca.TestKit;
using System.Security.Cryptography;
using Arca.Native;

namespace Arca.Cli.Tests;

/// <summary>
/// A tree no one here wrote (the .NET SDK on this machine, about 620 MB) restores byte-identical with its modes and
/// mtimes. Runs once per <see cref="Cli.Tests.Backend"/>: on a 2-core machine about 16 s on a folder and about a
/// minute on the S3 test server (58-74 s measured); should the S3 run grow past ~90 s, make this class local only.
/// </summary>
public abstract class RealTreeRoundTripTests
{
    private const string SdkFolder = "/usr/share/dotnet";

    protected abstract Backend Backend { get; }

    [Fact]
    public async Task The_dotnet_sdk_folder_restores_identical_in_bytes_modes_mtimes_and_links()
    {
        Directory.Exists(SdkFolder).ShouldBeTrue($"{SdkFolder} is the tree this test restores; install the .NET SDK there");
        await using var sandbox = await CliSandbox.CreateAsync(Backend);
        var env = sandbox.BinaryEnvironment();
        (await BuiltProgram.ArcaAsync(env, "init")).Code.ShouldBe(0);
        // dotnet itself writes into metadata/ whenever it runs (the test host included), so that folder
        // changes under the test; it is left out, and everything else must come back exactly.
        var backup = await BuiltProgram.ArcaAsync(env, "backup", SdkFolder, "--exclude", SdkFolder + "/metadata", "--json");
        backup.Code.ShouldBe(0, backup.Error);
        var target = sandbox.Path("restored");
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

public sealed class RealTreeRoundTripTestsOnLocal : RealTreeRoundTripTests
{
    protected override Backend Backend => Backend.Local;
}

public sealed class RealTreeRoundTripTestsOnS3 : RealTreeRoundTripTests
{
    protected override Backend Backend => Backend.S3;
}
