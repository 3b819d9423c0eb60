using System.Diagnostics;

namespace Arca.TestKit;

/// <summary>
/// The built program, <c>artifacts/arca/arca</c> under the repository root. It is built at most once per test
/// run, and only when it is missing or older than a source (the same rule as the <c>arca</c> launcher script).
/// </summary>
public static class ArcaBinary
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _checked;

    /// <summary>The folder holding Arca.slnx, found by walking up from the test assembly's folder.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The path of a current binary, building it first when needed.</summary>
    public static async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (_checked is not null)
            {
                return _checked;
            }
            var binary = Path.Combine(RepositoryRoot, "artifacts", "arca", "arca");
            if (IsStale(binary))
            {
                await BuildAsync(binary, cancellationToken);
            }
            _checked = binary;
            return binary;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Arca.slnx")))
            {
                return folder.FullName;
            }
        }
        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds Arca.slnx.");
    }

    private static bool IsStale(string binary)
    {
        if (!File.Exists(binary))
        {
            return true;
        }
        var built = File.GetLastWriteTimeUtc(binary);
        return Sources().Any(source => File.GetLastWriteTimeUtc(source) > built);
    }

    /// <summary>Everything the build reads that people edit: sources and project files, not bin/ and obj/.</summary>
    private static IEnumerable<string> Sources()
    {
        foreach (var name in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
        {
            var path = Path.Combine(RepositoryRoot, name);
            if (File.Exists(path))
            {
                yield return path;
            }
        }
        foreach (var folder in new[] { "src", "eng" })
        {
            var root = Path.Combine(RepositoryRoot, folder);
            if (!Directory.Exists(root))
            {
                continue;
            }
            var pending = new Stack<string>([root]);
            while (pending.Count > 0)
            {
                var current = pending.Pop();
                foreach (var sub in Directory.EnumerateDirectories(current))
                {
                    var name = Path.GetFileName(sub);
                    if (name is not ("bin" or "obj"))
                    {
                        pending.Push(sub);
                    }
                }
                foreach (var file in Directory.EnumerateFiles(current))
                {
                    if (file.EndsWith(".cs", StringComparison.Ordinal) || file.EndsWith(".csproj", StringComparison.Ordinal)
                        || file.EndsWith(".props", StringComparison.Ordinal) || file.EndsWith(".targets", StringComparison.Ordinal))
                    {
                        yield return file;
                    }
                }
            }
        }
    }

    private static async Task BuildAsync(string binary, CancellationToken cancellationToken)
    {
        // One way to build, the launcher's (ReadyToRun publish), so tests run what users run.
        var info = new ProcessStartInfo("bash")
        {
            WorkingDirectory = RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { Path.Combine(RepositoryRoot, "arca"), "--version" })
        {
            info.ArgumentList.Add(argument);
        }
        // The test host runs under MSBuild; its variables would steer the nested build.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet could not be started.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"Building {binary} failed (exit code {process.ExitCode}):\n{await output}\n{await error}");
        }
        // An incremental build may leave the apphost's old time; mark the binary as built now, as the launcher does.
        File.SetLastWriteTimeUtc(binary, TimeProvider.System.GetUtcNow().UtcDateTime);
    }
}
