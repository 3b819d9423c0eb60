using System.Text.Json.Serialization;

namespace Arca.Trees;

/// <summary>
/// What the <c>.env</c> file of <c>env:PATTERN</c> sources records: the patterns and the names of the
/// variables it holds. The values are secrets and live only in the file's (encrypted) content, so that
/// listing a snapshot never shows them unless asked to.
/// </summary>
public sealed record EnvInfo
{
    /// <summary>The patterns as given after <c>env:</c>, in the order given.</summary>
    [JsonPropertyName("patterns")] public required IReadOnlyList<string> Patterns { get; init; }
    /// <summary>The names of the variables in the file, sorted (ordinal), as the file holds them.</summary>
    [JsonPropertyName("names")] public required IReadOnlyList<string> Names { get; init; }
}
