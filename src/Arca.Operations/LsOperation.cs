using Arca.Repo;
using Arca.Restore;
using Arca.Trees;

namespace Arca.Operations;

/// <summary>One entry of a snapshot listing.</summary>
public sealed record ListedNode(string Path, Node Node);

/// <summary>Lists a snapshot's entries, all of them or those under one path.</summary>
public sealed class LsOperation
{
    public async Task<(SnapshotId Id, Snapshot Snapshot, List<ListedNode> Nodes)> RunAsync(RepositorySession session,
        SnapshotSelector selector, string? path, CancellationToken cancellationToken)
    {
        var repository = session.Repository;
        var (id, snapshot) = await selector.ResolveAsync(repository, cancellationToken);
        var result = new List<ListedNode>();
        var prefix = path is null ? "" : Restorer.NormalizeSnapshotPath(path);
        var tree = await repository.LoadTreeAsync(snapshot.Tree, cancellationToken);
        var walked = "";
        foreach (var part in prefix.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var node = tree.Find(part) ?? throw new ArcaException(ErrorCode.PathNotFound,
                $"Snapshot {id.Short} holds no path '/{prefix}'.", "List the snapshot's top level with 'arca ls SNAPSHOT'.");
            walked += "/" + part;
            if (walked.Length - 1 == prefix.Length)
            {
                result.Add(new ListedNode(walked, node));
                if (node.Subtree is not { } last)
                {
                    return (id, snapshot, result);
                }
                tree = await repository.LoadTreeAsync(last, cancellationToken);
                break;
            }
            tree = node.Subtree is { } subtree
                ? await repository.LoadTreeAsync(subtree, cancellationToken)
                : throw new ArcaException(ErrorCode.PathNotFound, $"Snapshot {id.Short} holds no path '/{prefix}'.",
                    "List the snapshot's top level with 'arca ls SNAPSHOT'.");
        }
        await WalkAsync(repository, tree, walked, result, cancellationToken);
        return (id, snapshot, result);
    }

    private static async Task WalkAsync(Repository repository, Tree tree, string prefix, List<ListedNode> result, CancellationToken cancellationToken)
    {
        foreach (var node in tree.Nodes)
        {
            var path = prefix + "/" + node.Name;
            result.Add(new ListedNode(path, node));
            if (node.Subtree is { } subtree)
            {
                await WalkAsync(repository, await repository.LoadTreeAsync(subtree, cancellationToken), path, result, cancellationToken);
            }
        }
    }
}
