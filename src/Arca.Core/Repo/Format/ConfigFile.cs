using System.Text.Json.Serialization;

namespace Arca.Repo.Format;

/// <summary>
/// The plaintext <c>config</c> file: a magic string and the format version readable without a password
/// (so an unknown version is refused with a clear message before anything else), the repository id,
/// and the sealed <see cref="RepositorySettings"/> in base64.
/// </summary>
public sealed record ConfigFile(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("settings")] string SealedSettings);

/// <summary>
/// Settings sealed with the master key: chunker sizes and the secret seed of its gear table (so chunk
/// boundaries reveal nothing), the target pack size and the compression level.
/// </summary>
public sealed record RepositorySettings(
    [property: JsonPropertyName("chunker_min")] int ChunkerMin,
    [property: JsonPropertyName("chunker_avg")] int ChunkerAverage,
    [property: JsonPropertyName("chunker_max")] int ChunkerMax,
    [property: JsonPropertyName("gear_seed")] byte[] GearSeed,
    [property: JsonPropertyName("pack_size")] int PackSize,
    [property: JsonPropertyName("compression_level")] int CompressionLevel);
