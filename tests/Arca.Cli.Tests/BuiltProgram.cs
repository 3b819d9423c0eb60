using System.Diagnostics;

namespace Arca.Cli.Tests;

/// <summary>Runs the built `arca` (through the ./arca launcher, which builds it if needed) as a separate process.</summary>
internal static class BuiltProgram
{
    private static readonly SemaphoreSlim BuildOnce = new(1, 1);
    private static bool _built;

    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Arca.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Arca.slnx not found above the test folder.");
    }

    public static async Task<string> PathAsync()
    {
        await BuildOnce.WaitAsync();
        try
        {
            if (!_built)
            {
                var (code, _, error) = await RunAsync(Path.Combine(RepositoryRoot, "arca"), ["--help"], new Dictionary<string, string>(), TimeSpan.FromMinutes(5));
                code.ShouldBe(0, error);
                _built = true;
            }
        }
        finally
        {
            BuildOnce.Release();
        }
        return Path.Combine(RepositoryRoot, "artifacts", "arca", "arca");
    }

    public static Process Start(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        return Process.Start(info)!;
    }

    public static async Task<(int Code, string Out, string Error)> RunAsync(string program, IEnumerable<string> args,
        IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        using var process = Start(program, args, environment);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await output, await error);
    }

    public static async Task<(int Code, string Out, string Error)> ArcaAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        await RunAsync(await PathAsync(), args, environment, TimeSpan.FromMinutes(5));
}
