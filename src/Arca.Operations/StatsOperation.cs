using Arca.Repo;
using Arca.Trees;

namespace Arca.Operations;

/// <summary>
/// Sizes of one snapshot or of all: what a restore would write (<see cref="LogicalBytes"/>), the distinct blobs
/// that holds once deduplicated (<see cref="UniqueRawBytes"/>) and what they take in the repository after
/// compression and encryption (<see cref="StoredBytes"/>).
/// </summary>
public sealed record RepositoryStats(int Snapshots, long Files, long LogicalBytes, long Blobs, long UniqueRawBytes, long StoredBytes,
    int Packs)
{
    /// <summary>Logical bytes per stored byte: deduplication and compression together.</summary>
    public double Ratio => StoredBytes == 0 ? 0 : (double)LogicalBytes / StoredBytes;
    public double DedupRatio => UniqueRawBytes == 0 ? 0 : (double)LogicalBytes / UniqueRawBytes;
    public double CompressionRatio => StoredBytes == 0 ? 0 : (double)UniqueRawBytes / StoredBytes;
}

public sealed class StatsOperation
{
    public async Task<RepositoryStats> RunAsync(RepositorySession session, IReadOnlyList<Snapshot> snapshots, CancellationToken cancellationToken)
    {
        var repository = session.Repository;
        var totals = new Dictionary<BlobId, (long Files, long Bytes)>();
        var blobs = new HashSet<BlobId>();
        long files = 0, bytes = 0;
        foreach (var snapshot in snapshots)
        {
            var (f, b) = await TotalsAsync(snapshot.Tree);
            files += f;
            bytes += b;
        }
        long raw = 0, stored = 0;
        var packs = new HashSet<PackId>();
        foreach (var id in blobs)
        {
            if (!repository.Index.TryGet(id, out var location))
            {
                throw new ArcaException(ErrorCode.RepositoryDamaged, $"Blob {id} is in a snapshot but not in the index.",
                    "Run 'arca check' to see what is affected.");
            }
            raw += location.Entry.RawLength;
            stored += location.Entry.StoredLength;
            packs.Add(location.Pack);
        }
        return new RepositoryStats(snapshots.Count, files, bytes, blobs.Count, raw, stored, packs.Count);

        // Files and bytes under a tree, each tree read once however many snapshots share it.
        async Task<(long Files, long Bytes)> TotalsAsync(BlobId treeId)
        {
            if (totals.TryGetValue(treeId, out var known))
            {
                return known;
            }
            blobs.Add(treeId);
            var tree = await repository.LoadTreeAsync(treeId, cancellationToken);
            long treeFiles = 0, treeBytes = 0;
            foreach (var node in tree.Nodes)
            {
                if (node.Type == NodeType.File)
                {
                    treeFiles++;
                    treeBytes += node.Size;
                    blobs.UnionWith(node.Content ?? []);
                }
                else if (node.Subtree is { } subtree)
                {
                    var (f, b) = await TotalsAsync(subtree);
                    treeFiles += f;
                    treeBytes += b;
                }
            }
            return totals[treeId] = (treeFiles, treeBytes);
        }
    }
}
