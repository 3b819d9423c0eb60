using Arca.Sources.Files;

namespace Arca.Backup;

public sealed record ArchiverOptions
{
    public IReadOnlyList<Glob> Excludes { get; init; } = [];
    /// <summary>
    /// Files read at once. Each reads, chunks and hashes on its own thread; compression and sealing go to
    /// blob workers. Default: one per core.
    /// </summary>
    public int FileWorkers { get; init; } = int.TryParse(Environment.GetEnvironmentVariable("ARCA_FW"), out var fw) ? fw : Environment.ProcessorCount;
    /// <summary>Chunks being compressed and sealed at once; bounds the memory held by chunks in flight.</summary>
    public int BlobWorkers { get; init; } = int.TryParse(Environment.GetEnvironmentVariable("ARCA_BW"), out var bw) ? bw : Environment.ProcessorCount + 1;
}
