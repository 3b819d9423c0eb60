using System.Security.Cryptography;

namespace Arca.Cli.Tests;

/// <summary>
/// Runs the built `arca` inside a shell pipeline, as a user would pipe `arca dump` into a restore tool; the
/// script gets the program's path as $ARCA.
/// </summary>
internal static class ShellPipe
{
    public static async Task<(int Code, string Out, string Error)> RunAsync(CliSandbox sandbox, string script, TimeSpan? timeout = null)
    {
        var environment = sandbox.BinaryEnvironment();
        environment["ARCA"] = await BuiltProgram.PathAsync();
        return await BuiltProgram.RunAsync("sh", ["-c", script], environment, timeout ?? TimeSpan.FromMinutes(5));
    }

    /// <summary>The SHA-256 (hex) that `sha256sum` prints for what <paramref name="script"/> writes to standard output.</summary>
    public static async Task<string> Sha256Async(CliSandbox sandbox, string script, TimeSpan? timeout = null)
    {
        // pipefail is not POSIX: the script's own status is checked by running it in a subshell that records it.
        var status = sandbox.Path($"status-{Guid.NewGuid():N}");
        var (code, output, error) = await RunAsync(sandbox, $"( {script} ; echo $? > '{status}' ) | sha256sum", timeout);
        code.ShouldBe(0, error);
        File.ReadAllText(status).Trim().ShouldBe("0", $"{script} failed: {error}");
        return output.Split(' ')[0];
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
