using System.Text.Json.Serialization;

namespace Arca.Repo.Format;

/// <summary>Source-generated JSON for the format's records: no reflection, stable property order.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(ConfigFile))]
[JsonSerializable(typeof(RepositorySettings))]
[JsonSerializable(typeof(KeyFile))]
[JsonSerializable(typeof(LockFile))]
public sealed partial class FormatJson : JsonSerializerContext;
