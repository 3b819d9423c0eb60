using Arca.Trees;

namespace Arca.Restore;

/// <summary>What a restore will do with one entry.</summary>
public enum RestoreActionKind
{
    Create,
    Overwrite,
    Skip,
}

/// <summary>One planned step: the entry, where it goes, and what happens there.</summary>
/// <param name="Path">The entry's path inside the snapshot, with '/' separators.</param>
/// <param name="Destination">The absolute path it is written to.</param>
public sealed record RestoreAction(string Path, string Destination, Node Node, RestoreActionKind Kind, string? Reason = null);
