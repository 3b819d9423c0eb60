using System.Text;

namespace Arca.Sources.Command;

/// <summary>How messages show a command and how it ended: one line, short enough for an error sentence.</summary>
public static class CommandText
{
    /// <summary>Longer command lines are cut in error messages (the snapshot records them whole).</summary>
    public const int MessageLength = 80;

    /// <summary>
    /// The command as a shell would take it back (arguments holding anything but plain characters single-quoted),
    /// on one line and at most <paramref name="max"/> characters.
    /// </summary>
    public static string Display(IReadOnlyList<string> command, int max = MessageLength)
    {
        ArgumentNullException.ThrowIfNull(command);
        var text = string.Join(' ', command.Select(Quote));
        return Shorten(OneLine(text), max);
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%^".Contains(c))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// How a command ended, from .NET's exit code. A process killed by signal N reports 128+N (.NET, like the
    /// shells, folds the two cases into one number); a status above 128 is read as a signal, which is also what
    /// it means when a shell script's own command was killed.
    /// </summary>
    public static string Ending(int exitCode) => exitCode is > 128 and <= 128 + 64
        ? $"was killed by signal {exitCode - 128}{SignalName(exitCode - 128)} (exit status {exitCode})"
        : $"exited with status {exitCode}";

    private static string SignalName(int signal) => signal switch
    {
        1 => ", SIGHUP",
        2 => ", SIGINT",
        3 => ", SIGQUIT",
        4 => ", SIGILL",
        6 => ", SIGABRT",
        7 => ", SIGBUS",
        8 => ", SIGFPE",
        9 => ", SIGKILL",
        11 => ", SIGSEGV",
        13 => ", SIGPIPE",
        14 => ", SIGALRM",
        15 => ", SIGTERM",
        _ => "",
    };

    /// <summary>Control characters (newlines, escapes) become spaces, so a message stays one line.</summary>
    public static string OneLine(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsControl(c) ? ' ' : c);
        }
        return builder.ToString();
    }

    /// <summary>At most <paramref name="max"/> characters, the rest cut and marked with an ellipsis.</summary>
    public static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    /// <summary>At most <paramref name="max"/> characters, the start cut: the last words of an error output matter most.</summary>
    public static string ShortenFront(string text, int max) => text.Length <= max ? text : "…" + text[^(max - 1)..];
}
