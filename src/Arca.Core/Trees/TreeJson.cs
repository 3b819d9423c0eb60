using System.Text.Json.Serialization;

namespace Arca.Trees;

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(BlobIdJsonConverter), typeof(SnapshotIdJsonConverter)])]
[JsonSerializable(typeof(Tree))]
[JsonSerializable(typeof(Snapshot))]
public sealed partial class TreeJson : JsonSerializerContext;
