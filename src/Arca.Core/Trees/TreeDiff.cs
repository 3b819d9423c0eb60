using System.Runtime.CompilerServices;
using Arca.Repo;

namespace Arca.Trees;

/// <summary>How an entry differs between two snapshots (restic's diff letters).</summary>
public enum ChangeKind
{
    /// <summary>Only in the second snapshot (+).</summary>
    Added,
    /// <summary>Only in the first (-).</summary>
    Removed,
    /// <summary>Same kind of entry, other content or link target (M).</summary>
    Modified,
    /// <summary>A file became a folder, a link became a file, and so on (T).</summary>
    TypeChanged,
    /// <summary>Same content; mode, owner or mtime differ (U).</summary>
    MetadataChanged,
}

/// <summary>One difference: the path (from the snapshot root, with a leading '/'), and the entry before and after.</summary>
public sealed record TreeChange(string Path, ChangeKind Kind, Node? Before, Node? After);

/// <summary>
/// Compares two snapshot trees entry by entry. Folders whose subtree ids are equal are skipped without being
/// read (identical content hashes to the same id), so a diff of two similar snapshots reads only what changed.
/// Everything under an added or removed folder is reported entry by entry, with its sizes.
/// </summary>
public sealed class TreeDiff(ITreeLoader trees)
{
    public IAsyncEnumerable<TreeChange> CompareAsync(BlobId before, BlobId after, CancellationToken cancellationToken) =>
        CompareAsync(before, after, "", cancellationToken);

    private async IAsyncEnumerable<TreeChange> CompareAsync(BlobId? before, BlobId? after, string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (before == after)
        {
            yield break;
        }
        var left = before is { } b ? (await trees.LoadTreeAsync(b, cancellationToken)).Nodes : [];
        var right = after is { } a ? (await trees.LoadTreeAsync(a, cancellationToken)).Nodes : [];
        int i = 0, j = 0;
        while (i < left.Count || j < right.Count)
        {
            var order = i == left.Count ? 1 : j == right.Count ? -1 : string.CompareOrdinal(left[i].Name, right[j].Name);
            var l = order <= 0 ? left[i++] : null;
            var r = order >= 0 ? right[j++] : null;
            var path = $"{prefix}/{(l ?? r)!.Name}";
            if (l is null || r is null)
            {
                yield return new TreeChange(path, l is null ? ChangeKind.Added : ChangeKind.Removed, l, r);
            }
            else if (l.Type != r.Type)
            {
                yield return new TreeChange(path, ChangeKind.TypeChanged, l, r);
            }
            else if (l.Type != NodeType.Dir && !SameContent(l, r))
            {
                yield return new TreeChange(path, ChangeKind.Modified, l, r);
            }
            else if (l.Mode != r.Mode || l.Uid != r.Uid || l.Gid != r.Gid || (l.Type != NodeType.Dir && l.ModifyTimeNs != r.ModifyTimeNs))
            {
                yield return new TreeChange(path, ChangeKind.MetadataChanged, l, r);
            }
            // Into folders on either side: a folder that came or went reports everything it held.
            var lSub = l?.Type == NodeType.Dir ? l.Subtree : null;
            var rSub = r?.Type == NodeType.Dir ? r.Subtree : null;
            if (lSub is not null || rSub is not null)
            {
                await foreach (var change in CompareAsync(lSub, rSub, path, cancellationToken))
                {
                    yield return change;
                }
            }
        }
    }

    private static bool SameContent(Node l, Node r) =>
        l.Size == r.Size && l.LinkTarget == r.LinkTarget && (l.Content ?? []).SequenceEqual(r.Content ?? []);
}
