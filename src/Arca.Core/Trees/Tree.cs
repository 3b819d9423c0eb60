using System.Text.Json;
using System.Text.Json.Serialization;

namespace Arca.Trees;

/// <summary>
/// A folder's listing, sorted by name (ordinal), serialized as JSON into a tree blob. The bytes are a
/// pure function of the entries, so an unchanged folder gives the same blob id and costs nothing.
/// </summary>
public sealed record Tree([property: JsonPropertyName("nodes")] IReadOnlyList<Node> Nodes)
{
    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, TreeJson.Default.Tree);

    /// <summary>Parses a tree blob, refusing unsafe or duplicate names (see <see cref="Node.IsSafeName"/>).</summary>
    public static Tree Deserialize(ReadOnlySpan<byte> bytes)
    {
        Tree? tree;
        try
        {
            tree = JsonSerializer.Deserialize(bytes, TreeJson.Default.Tree);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"A tree blob does not parse: {ex.Message}", ex);
        }
        if (tree?.Nodes is null)
        {
            throw new InvalidDataException("A tree blob is empty.");
        }
        string? previous = null;
        foreach (var node in tree.Nodes)
        {
            if (!Node.IsSafeName(node.Name))
            {
                throw new InvalidDataException($"A tree holds the entry name '{node.Name}', which is not a single path component.");
            }
            if (previous is not null && string.CompareOrdinal(previous, node.Name) >= 0)
            {
                throw new InvalidDataException($"A tree is not sorted or holds '{node.Name}' twice.");
            }
            previous = node.Name;
        }
        return tree;
    }

    public Node? Find(string name)
    {
        // Nodes are sorted ordinally: binary search.
        int lo = 0, hi = Nodes.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >> 1;
            var c = string.CompareOrdinal(Nodes[mid].Name, name);
            if (c == 0) return Nodes[mid];
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return null;
    }
}
