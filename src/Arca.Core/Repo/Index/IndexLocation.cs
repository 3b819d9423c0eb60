using Arca.Repo.Format;

namespace Arca.Repo.Index;

/// <summary>Where a blob lives: its pack and its entry within it.</summary>
public readonly record struct IndexLocation(PackId Pack, BlobEntry Entry);
