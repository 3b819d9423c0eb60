using System.Text.Json;
using System.Text.Json.Serialization;
using Arca.Repo;

namespace Arca.Trees;

/// <summary>Blob and snapshot ids as 64-character lowercase hex in JSON.</summary>
public sealed class BlobIdJsonConverter : JsonConverter<BlobId>
{
    public override BlobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Hash256.TryParse(reader.GetString(), out var hash) ? new BlobId(hash) : throw new JsonException("A blob id is not 64 hex characters.");

    public override void Write(Utf8JsonWriter writer, BlobId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}

public sealed class SnapshotIdJsonConverter : JsonConverter<SnapshotId>
{
    public override SnapshotId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Hash256.TryParse(reader.GetString(), out var hash) ? new SnapshotId(hash) : throw new JsonException("A snapshot id is not 64 hex characters.");

    public override void Write(Utf8JsonWriter writer, SnapshotId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
