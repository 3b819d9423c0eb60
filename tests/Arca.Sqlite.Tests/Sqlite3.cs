using System.Diagnostics;

namespace Arca.Sqlite.Tests;

/// <summary>
/// The judge: Debian's <c>sqlite3</c> program (package sqlite3, installed by scripts/test), a SQLite no one
/// here built or configured. It reads every database these tests compare, dumps and checks them; what it
/// prints is the truth the tests hold arca's results to. It runs without any startup file, stops at the first
/// error, and an error fails the test.
/// </summary>
internal static class Sqlite3
{
    public const string Program = "/usr/bin/sqlite3";

    /// <summary>Runs <paramref name="commands"/> (SQL or dot-commands, one an argument) on <paramref name="database"/>; returns what it printed.</summary>
    public static async Task<string> RunAsync(string database, params string[] commands)
    {
        if (!File.Exists(Program))
        {
            throw new Xunit.Sdk.XunitException($"{Program} is missing: install Debian's sqlite3 package (scripts/test does).");
        }
        var info = new ProcessStartInfo(Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-batch", "-bail", "-init", "/dev/null", database }.Concat(commands))
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0 || (await error).Length > 0)
        {
            throw new Xunit.Sdk.XunitException($"sqlite3 {database} {string.Join(' ', commands)} failed with exit code {process.ExitCode}:\n{await error}");
        }
        return await output;
    }

    /// <summary>What one query printed, without the final newline (rows on lines, columns separated by '|').</summary>
    public static async Task<string> QueryAsync(string database, string sql) => (await RunAsync(database, sql)).TrimEnd('\n');

    public static async Task<long> CountAsync(string database, string sql) => long.Parse(await QueryAsync(database, sql), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>.dump</c>: the schema and every row as SQL text.</summary>
    public static Task<string> DumpAsync(string database) => RunAsync(database, ".dump");

    /// <summary>Fails unless <c>PRAGMA integrity_check</c> says ok.</summary>
    public static async Task ShouldBeIntactAsync(string database) =>
        (await QueryAsync(database, "PRAGMA integrity_check")).ShouldBe("ok", $"{database} fails the integrity check");

    /// <summary>Fails unless FTS5's own check of <paramref name="index"/> against its content passes (it raises an error otherwise).</summary>
    public static async Task ShouldPassSearchCheckAsync(string database, string index) =>
        await RunAsync(database, $"INSERT INTO {index}({index}) VALUES ('integrity-check')");
}
