using System.Text.Json.Serialization;

namespace Arca.Trees;

/// <summary>
/// What a file made of a standard stream records (<c>--stdin</c>, <c>--stdin-from-command</c>): where its bytes
/// came from. Nothing else about the file is special: it restores, dumps and diffs like any file.
/// </summary>
public sealed record StdinInfo
{
    /// <summary>
    /// The command whose standard output the file holds, as its argument vector (program first), or null when
    /// Arca read its own standard input. Only a command that exited with status 0 gets a snapshot.
    /// </summary>
    [JsonPropertyName("command")] public IReadOnlyList<string>? Command { get; init; }
}
