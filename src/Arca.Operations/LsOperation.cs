using Arca.Repo;
using Arca.Restore;
using Arca.Sources.Env;
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
        if (prefix.Length == 0)
        {
            await WalkAsync(repository, tree, "", result, cancellationToken);
            return (id, snapshot, result);
        }
        var (found, below) = await FindAsync(repository, id, tree, prefix, cancellationToken);
        tree = below ?? tree;
        result.Add(new ListedNode("/" + prefix, found));
        if (found.Subtree is not null)
        {
            await WalkAsync(repository, tree, "/" + prefix, result, cancellationToken);
        }
        return (id, snapshot, result);
    }

    /// <summary>The variables (names and values) of a .env entry of env: sources, read from the repository: for ls --show-secrets only.</summary>
    public static Task<List<KeyValuePair<string, string>>> ReadSecretsAsync(RepositorySession session, Node node, CancellationToken cancellationToken) =>
        EnvironmentSource.ReadAsync(session.Repository, node, cancellationToken);

    /// <summary>
    /// The node at <paramref name="path"/> (normalized, without a leading '/') below <paramref name="root"/>,
    /// and its subtree if it has one.
    /// </summary>
    public static async Task<(Node Node, Tree? Subtree)> FindAsync(Repository repository, SnapshotId id, Tree root, string path,
        CancellationToken cancellationToken)
    {
        var tree = root;
        var parts = path.Split('/');
        Node? found = null;
        Tree? subtreeOfFound = null;
        for (var i = 0; i < parts.Length; i++)
        {
            found = tree.Find(parts[i]);
            if (found is null || (i < parts.Length - 1 && found.Subtree is null))
            {
                throw new ArcaException(ErrorCode.PathNotFound, $"Snapshot {id.Short} holds no path '/{path}'.",
                    "List the snapshot's top level with 'arca ls SNAPSHOT'.");
            }
            subtreeOfFound = null;
            if (found.Subtree is { } subtree)
            {
                tree = subtreeOfFound = await repository.LoadTreeAsync(subtree, cancellationToken);
            }
        }
        return (found!, subtreeOfFound);
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
