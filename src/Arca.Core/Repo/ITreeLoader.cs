using Arca.Trees;

namespace Arca.Repo;

/// <summary>Loading a tree blob, parsed and checked for unsafe names.</summary>
public interface ITreeLoader
{
    Task<Tree> LoadTreeAsync(BlobId id, CancellationToken cancellationToken);
}
