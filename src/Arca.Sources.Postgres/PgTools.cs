using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Arca.Sources.Postgres;

/// <summary>
/// PostgreSQL's own client programs, which Arca runs for the schema (pg_dump writes DDL, psql replays it):
/// the newest installed under /usr/lib/postgresql, else the ones on PATH. ARCA_PG_BINDIR overrides both.
/// </summary>
internal static partial class PgTools
{
    public static string Find(string program)
    {
        var dir = Environment.GetEnvironmentVariable("ARCA_PG_BINDIR");
        if (!string.IsNullOrEmpty(dir))
        {
            return Path.Combine(dir, program);
        }
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var newest = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1))
                .Where(d => d.Version > 0 && File.Exists(Path.Combine(d.Dir, "bin", program)))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
            {
                return Path.Combine(newest.Dir, "bin", program);
            }
        }
        return program;
    }

    /// <summary>The major version of a PostgreSQL program ("pg_dump (PostgreSQL) 15.18" gives 15).</summary>
    public static async Task<(int Major, string Text)> VersionAsync(string program, CancellationToken cancellationToken)
    {
        var result = await RunAsync(program, ["--version"], new Dictionary<string, string>(), null, cancellationToken);
        var text = System.Text.Encoding.UTF8.GetString(result).Trim();
        var match = VersionPattern().Match(text);
        return (match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0, text);
    }

    /// <summary>Runs a program to its end, feeding it <paramref name="input"/>; returns its standard output or throws with its error output.</summary>
    public static async Task<byte[]> RunAsync(string program, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment,
        Stream? input, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ArcaException(ErrorCode.ToolMissing, $"PostgreSQL's {Path.GetFileName(program)} is not installed ({ex.Message}).",
                "Install the client programs (Debian: apt-get install postgresql-client), or set ARCA_PG_BINDIR to their folder.", ex);
        }
        using (process)
        {
            try
            {
                var output = new MemoryStream();
                var copyOut = process.StandardOutput.BaseStream.CopyToAsync(output, cancellationToken);
                var readErr = process.StandardError.ReadToEndAsync(cancellationToken);
                if (input is not null)
                {
                    try
                    {
                        await input.CopyToAsync(process.StandardInput.BaseStream, cancellationToken);
                    }
                    catch (IOException)
                    {
                        // The program stopped reading (it failed): its error output says why.
                    }
                    finally
                    {
                        process.StandardInput.Close();
                    }
                }
                await copyOut;
                var error = await readErr;
                await process.WaitForExitAsync(cancellationToken);
                if (process.ExitCode != 0)
                {
                    throw new ToolFailedException(Path.GetFileName(program), process.ExitCode, error.Trim());
                }
                return output.ToArray();
            }
            catch (OperationCanceledException)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
                throw;
            }
        }
    }

    [GeneratedRegex(@"\) (\d+)")]
    private static partial Regex VersionPattern();
}

/// <summary>A PostgreSQL program ended with an error; its own message says why.</summary>
internal sealed class ToolFailedException(string program, int exitCode, string error)
    : Exception($"{program} failed (exit {exitCode}): {FirstLines(error)}")
{
    public string Program { get; } = program;
    public string Error { get; } = error;

    private static string FirstLines(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join(" ", lines.Take(3));
    }
}
