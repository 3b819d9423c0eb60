using Arca.Trees;

namespace Arca.Repo;

/// <summary>Reading and writing snapshot records.</summary>
public interface ISnapshotStore
{
    Task<SnapshotId> SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken);
    Task<Snapshot> LoadSnapshotAsync(SnapshotId id, CancellationToken cancellationToken);
    IAsyncEnumerable<SnapshotId> ListSnapshotIdsAsync(CancellationToken cancellationToken);
}
