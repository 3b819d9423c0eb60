using Arca.Repo.Chunking;
using Arca.Repo.Compression;
using Arca.Repo.Crypto;

namespace Arca.Repo;

/// <summary>Choices made once, at <c>init</c>, and kept in the repository's config.</summary>
public sealed record RepositoryOptions
{
    public KdfParameters Kdf { get; init; } = KdfParameters.Default;
    public ChunkerParameters Chunker { get; init; } = ChunkerParameters.Default;
    /// <summary>16 MiB: large enough that a 1 TiB repository has ~65k packs, small enough that a pack in flight costs little memory.</summary>
    public int PackSize { get; init; } = 16 << 20;
    public int CompressionLevel { get; init; } = BlobCompressor.DefaultLevel;

    public void Validate()
    {
        Chunker.Validate();
        if (PackSize < 1 << 16 || PackSize > 1 << 30)
        {
            throw new ArcaException(ErrorCode.Usage, $"A pack size of {PackSize} bytes is outside 64 KiB..1 GiB.");
        }
        if (CompressionLevel < 0 || CompressionLevel > 19)
        {
            throw new ArcaException(ErrorCode.Usage, $"Compression level {CompressionLevel} is outside 0 (off)..19.");
        }
    }
}
