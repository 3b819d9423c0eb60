using System.Diagnostics;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>Starts the built `arca` as a separate process with a handle, for tests that must kill it or watch it run.</summary>
internal static class BuiltProgram
{
    /// <summary>The built program; <see cref="ArcaBinary"/> builds it once per run, the launcher's way.</summary>
    public static Task<string> PathAsync() => ArcaBinary.GetAsync(CancellationToken.None);

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
