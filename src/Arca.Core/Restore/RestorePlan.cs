namespace Arca.Restore;

/// <summary>Everything a restore will do, computed before anything is written; a dry run prints it and stops.</summary>
public sealed record RestorePlan(string Target, IReadOnlyList<RestoreAction> Actions)
{
    public int Count(RestoreActionKind kind) => Actions.Count(a => a.Kind == kind);

    public long FilesToWrite => FileWrites.Count();

    public long BytesToWrite => FileWrites.Sum(a => a.Node.Size);

    private IEnumerable<RestoreAction> FileWrites => Actions.Where(a => a.Kind != RestoreActionKind.Skip && a.Node.Type == Trees.NodeType.File);
}
