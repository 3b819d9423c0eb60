using Arca.Sources.Files;

namespace Arca.Backup;

public sealed record ArchiverOptions
{
    public IReadOnlyList<Glob> Excludes { get; init; } = [];
    /// <summary>
    /// Files read at once. Each reads, chunks and hashes on its own thread; compression and sealing go to
    /// blob workers. Default: one per core.
    /// </summary>
    public int FileWorkers { get; init; } = Environment.ProcessorCount;
    /// <summary>Chunks being compressed and sealed at once; bounds the memory held by chunks in flight.</summary>
    public int BlobWorkers { get; init; } = Environment.ProcessorCount + 1;
}
