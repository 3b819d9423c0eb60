using Arca.Sources.Files;

namespace Arca.Backup;

public sealed record ArchiverOptions
{
    public IReadOnlyList<Glob> Excludes { get; init; } = [];
    /// <summary>
    /// Files read at once. Each reads, chunks, hashes, compresses and seals on its own thread, so this also
    /// bounds the chunks in memory: one per core. Measured on 2 cores and the 1 GiB bench tree, one more worker
    /// than cores was no faster and held about 10 MiB more at its peak.
    /// </summary>
    public int FileWorkers { get; init; } = Environment.ProcessorCount;
}
