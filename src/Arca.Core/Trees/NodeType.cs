using System.Text.Json.Serialization;

namespace Arca.Trees;

/// <summary>What a tree entry is. Database sources add their own kinds later (schema, table).</summary>
public enum NodeType
{
    [JsonStringEnumMemberName("file")] File,
    [JsonStringEnumMemberName("dir")] Dir,
    [JsonStringEnumMemberName("symlink")] Symlink,
}
