using Arca.Trees;

namespace Arca.Sources.Command;

/// <summary>
/// What <c>--stdin</c>, <c>--stdin-from-command</c> and <c>--stdin-filename</c> asked for (restic's options of the
/// same names): one file at the snapshot's root holding Arca's standard input, or a command's standard output.
/// </summary>
public sealed record StdinOptions
{
    /// <summary>The file's name when <c>--stdin-filename</c> is not given, as in restic.</summary>
    public const string DefaultFilename = "stdin";

    /// <summary><c>--stdin</c>: the file holds Arca's own standard input.</summary>
    public bool ReadStandardInput { get; init; }

    /// <summary><c>--stdin-from-command</c>: the program and its arguments (what follows <c>--</c>); null when not given.</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary><c>--stdin-filename</c> as given; null for <see cref="DefaultFilename"/>.</summary>
    public string? Filename { get; init; }

    /// <summary>Opens what <c>--stdin</c> reads (the process's standard input, or a test's bytes).</summary>
    public Func<Stream>? OpenStandardInput { get; init; }

    public bool Enabled => ReadStandardInput || Command is not null;

    /// <summary>The file's name in the snapshot's root.</summary>
    public string Name => Filename ?? DefaultFilename;

    /// <summary>How the snapshot's list of paths names this source: <c>stdin:NAME</c> or <c>command:NAME</c>.</summary>
    public string SnapshotPath => (Command is null ? "stdin:" : "command:") + Name;

    public void Validate()
    {
        if (ReadStandardInput && Command is not null)
        {
            throw new ArcaException(ErrorCode.Usage, "--stdin and --stdin-from-command both say where the file's bytes come from.",
                "Give one of them: --stdin reads arca's standard input, --stdin-from-command runs the command after '--'.");
        }
        if (Filename is not null && !Enabled)
        {
            throw new ArcaException(ErrorCode.Usage, "--stdin-filename names the file of --stdin or --stdin-from-command, and neither was given.",
                "Add --stdin to store standard input, or --stdin-from-command -- COMMAND ARGS... to store a command's output.");
        }
        if (Command is { Count: 0 } || Command?[0].Length == 0)
        {
            throw new ArcaException(ErrorCode.Usage, "--stdin-from-command needs the command to run, after '--'.",
                "Write it as: arca backup --stdin-from-command --stdin-filename NAME -- COMMAND ARGS...");
        }
        if (Enabled && !Node.IsSafeName(Name))
        {
            throw new ArcaException(ErrorCode.Usage, $"The file name '{Name}' is not a single path component.",
                "Give --stdin-filename a name without '/', such as 'db.archive'; the file is kept at the snapshot's root.");
        }
        if (ReadStandardInput && OpenStandardInput is null)
        {
            throw new InvalidOperationException("--stdin was given without a standard input to read.");
        }
    }
}
