using System.Text.Json.Serialization;

namespace Arca.Trees;

/// <summary>
/// What a database entry records about the database as a whole: where it came from, which server and dump
/// tool made it, and its sequences' values. A PostgreSQL database is a folder (its schema files and a folder
/// of tables); a SQLite database is a file, the database file itself, and this record is its manifest: the
/// schema and every table with its row count and checksum (<see cref="Tables"/>).
/// </summary>
public sealed record DatabaseInfo
{
    [JsonPropertyName("engine")] public required string Engine { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    /// <summary>The source as given, without its password.</summary>
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("server_version")] public string? ServerVersion { get; init; }
    /// <summary>The tool that wrote the schema files (e.g. "pg_dump (PostgreSQL) 15.18").</summary>
    [JsonPropertyName("schema_tool")] public string? SchemaTool { get; init; }
    /// <summary>True when only some tables were backed up (<c>--table</c>).</summary>
    [JsonPropertyName("partial")] public bool Partial { get; init; }
    [JsonPropertyName("sequences")] public IReadOnlyList<SequenceValue>? Sequences { get; init; }
    /// <summary>Materialized views that held data ("schema.name", in creation order): a restore refreshes them, as pg_restore does.</summary>
    [JsonPropertyName("materialized_views")] public IReadOnlyList<string>? MaterializedViews { get; init; }
    /// <summary>SQLite: the tables inside the file (not FTS5 shadow tables), each with its row count and row checksum.</summary>
    [JsonPropertyName("tables")] public IReadOnlyList<TableInfo>? Tables { get; init; }
    /// <summary>SQLite: the schema as the file holds it (each object's CREATE statement, in sqlite_schema order).</summary>
    [JsonPropertyName("schema")] public string? Schema { get; init; }
    /// <summary>SQLite: the file's journal mode when it was backed up ("wal", "delete", ...).</summary>
    [JsonPropertyName("journal_mode")] public string? JournalMode { get; init; }
}

public sealed record SequenceValue(
    [property: JsonPropertyName("schema")] string Schema,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("last_value")] long LastValue,
    [property: JsonPropertyName("is_called")] bool IsCalled);
