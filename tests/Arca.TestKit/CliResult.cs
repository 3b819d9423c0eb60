using System.Text.Json;

namespace Arca.TestKit;

/// <summary>What one run of <c>arca</c> left behind: its exit code and everything it printed.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    /// <summary>Standard output parsed as one JSON document (the caller disposes it).</summary>
    public JsonDocument Json()
    {
        try
        {
            return JsonDocument.Parse(Out);
        }
        catch (JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"Standard output is not one JSON document ({ex.Message}).\n{this}");
        }
    }

    /// <summary>Standard error split into lines, without the trailing empty one.</summary>
    public IReadOnlyList<string> ErrorLines =>
        Error.ReplaceLineEndings("\n").TrimEnd('\n') is { Length: > 0 } text ? text.Split('\n') : [];

    /// <summary>The whole run, for assertion messages.</summary>
    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}
