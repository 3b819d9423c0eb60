using System.Diagnostics;
using Arca.Cli;

namespace Arca.TestKit;

/// <summary>
/// Runs <c>arca</c> the two ways a user can meet it (Kopia's in-process and exe runners): in process
/// through <see cref="CliApp.RunAsync"/> with captured output and an injected environment, and as the
/// built program with the same environment. Standard input is never a terminal, so a missing password is
/// an error instead of a prompt.
/// </summary>
public sealed class CliRunner
{
    public const string DefaultPassword = "correct horse battery staple";

    public CliRunner(string? repository = null)
    {
        Environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ARCA_PASSWORD"] = DefaultPassword,
            ["ARCA_INSECURE_TEST_KDF"] = "1",
        };
        if (repository is not null)
        {
            Environment["ARCA_REPOSITORY"] = repository;
        }
    }

    /// <summary>
    /// The only variables the program sees in process; for the binary they replace every inherited
    /// ARCA_* and AWS_* variable (so both runs see the same repository settings and S3 credentials).
    /// A null value means "unset".
    /// </summary>
    public Dictionary<string, string?> Environment { get; }

    /// <summary>What standard input delivers.</summary>
    public string Input { get; init; } = "";

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>A run that takes longer is cancelled (in process) or killed (binary), and the test fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>A copy of this runner with one variable changed (null unsets it).</summary>
    public CliRunner With(string variable, string? value)
    {
        var copy = new CliRunner { Input = Input, Time = Time, Timeout = Timeout };
        copy.Environment.Clear();
        foreach (var (name, existing) in Environment)
        {
            copy.Environment[name] = existing;
        }
        copy.Environment[variable] = value;
        return copy;
    }

    /// <summary>Runs the real entry point in this process.</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    /// <summary>Runs the real entry point in this process; <paramref name="interrupt"/> is the user's Ctrl-C.</summary>
    public async Task<CliResult> RunAsync(CancellationToken interrupt, params string[] args)
    {
        // Synchronized: engines report per-item errors from worker threads.
        using var output = new StringWriter();
        using var error = new StringWriter();
        var console = new CliConsole
        {
            Out = TextWriter.Synchronized(output),
            Error = TextWriter.Synchronized(error),
            In = new StringReader(Input),
            GetEnvironmentVariable = name => Environment.TryGetValue(name, out var value) ? value : null,
            GetEnvironmentVariables = () => Environment.Where(e => e.Value is not null).ToDictionary(e => e.Key, e => e.Value!, StringComparer.Ordinal),
            ErrorIsTerminal = false,
            InputIsTerminal = false,
            Time = Time,
        };
        using var timeout = new CancellationTokenSource(Timeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, interrupt);
        var code = await CliApp.RunAsync(args, console, stop.Token);
        if (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"arca {string.Join(' ', args)} did not finish within {Timeout}.");
        }
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs the built program (building it first if it is missing or stale).</summary>
    public async Task<CliResult> RunBinaryAsync(params string[] args)
    {
        var binary = await ArcaBinary.GetAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(Timeout);
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var name in info.Environment.Keys.Where(IsReplaced).ToList())
        {
            info.Environment.Remove(name);
        }
        foreach (var (name, value) in Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{binary} could not be started.");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        await process.StandardInput.WriteAsync(Input);
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{binary} {string.Join(' ', args)} did not finish within {Timeout}; it was killed.");
        }
        return new CliResult(process.ExitCode, await output, await error);
    }

    /// <summary>The inherited variables a binary run does not see unless <see cref="Environment"/> sets them.</summary>
    private static bool IsReplaced(string name) =>
        name.StartsWith("ARCA_", StringComparison.Ordinal) || name.StartsWith("AWS_", StringComparison.Ordinal);
}
