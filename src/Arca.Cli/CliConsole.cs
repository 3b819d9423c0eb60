namespace Arca.Cli;

/// <summary>
/// The process's console, environment and clock, injected so tests run the real entry point in process
/// with their own writers and variables.
/// </summary>
public sealed class CliConsole
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public required TextReader In { get; init; }
    public required Func<string, string?> GetEnvironmentVariable { get; init; }
    /// <summary>Whether standard error is a terminal (progress bars) rather than a log (plain lines).</summary>
    public bool ErrorIsTerminal { get; init; }
    /// <summary>Whether standard input is a terminal, so a password can be asked for.</summary>
    public bool InputIsTerminal { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public static CliConsole FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
        GetEnvironmentVariable = Environment.GetEnvironmentVariable,
        ErrorIsTerminal = !Console.IsErrorRedirected,
        InputIsTerminal = !Console.IsInputRedirected,
    };
}
