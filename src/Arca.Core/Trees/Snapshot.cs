using System.Text.Json;
using System.Text.Json.Serialization;
using Arca.Repo;

namespace Arca.Trees;

/// <summary>The state of one or more sources at one moment: a root tree plus who, when, what and how it went.</summary>
public sealed record Snapshot
{
    [JsonPropertyName("time")] public required DateTimeOffset Time { get; init; }
    [JsonPropertyName("tree")] public required BlobId Tree { get; init; }
    /// <summary>The absolute paths that were backed up; each is an entry of the root tree, by its last component.</summary>
    [JsonPropertyName("paths")] public required IReadOnlyList<string> Paths { get; init; }
    [JsonPropertyName("hostname")] public required string Hostname { get; init; }
    [JsonPropertyName("username")] public string Username { get; init; } = "";
    [JsonPropertyName("tags")] public IReadOnlyList<string> Tags { get; init; } = [];
    [JsonPropertyName("parent")] public SnapshotId? Parent { get; init; }
    [JsonPropertyName("program_version")] public string ProgramVersion { get; init; } = "";
    [JsonPropertyName("summary")] public SnapshotSummary? Summary { get; init; }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, TreeJson.Default.Snapshot);

    public static Snapshot Deserialize(ReadOnlySpan<byte> bytes, string name)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, TreeJson.Default.Snapshot)
                ?? throw new InvalidDataException($"Snapshot {name} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Snapshot {name} does not parse: {ex.Message}", ex);
        }
    }
}

/// <summary>What a backup did, kept in its snapshot; <see cref="Errors"/> names every item left out.</summary>
public sealed record SnapshotSummary
{
    [JsonPropertyName("backup_start")] public DateTimeOffset BackupStart { get; init; }
    [JsonPropertyName("backup_end")] public DateTimeOffset BackupEnd { get; init; }
    [JsonPropertyName("files_new")] public long FilesNew { get; init; }
    [JsonPropertyName("files_changed")] public long FilesChanged { get; init; }
    [JsonPropertyName("files_unmodified")] public long FilesUnmodified { get; init; }
    [JsonPropertyName("dirs")] public long Dirs { get; init; }
    [JsonPropertyName("total_files")] public long TotalFiles { get; init; }
    [JsonPropertyName("total_bytes")] public long TotalBytes { get; init; }
    [JsonPropertyName("data_blobs_added")] public long DataBlobsAdded { get; init; }
    [JsonPropertyName("tree_blobs_added")] public long TreeBlobsAdded { get; init; }
    [JsonPropertyName("bytes_added")] public long BytesAdded { get; init; }
    [JsonPropertyName("bytes_added_stored")] public long BytesAddedStored { get; init; }
    [JsonPropertyName("errors")] public IReadOnlyList<ItemError> Errors { get; init; } = [];
    [JsonIgnore] public bool Partial => Errors.Count > 0;
}

/// <summary>An item a backup or restore could not handle, and why.</summary>
public sealed record ItemError(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("message")] string Message);
