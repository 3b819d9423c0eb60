using System.Text.Json.Serialization;

namespace Arca.Trees;

/// <summary>
/// What a database table entry records beside its rows (the entry's content): enough to restore the rows
/// into a live table, compare them with it by key, and prove afterwards that they arrived whole. The
/// rows are laid out as <see cref="Format"/> says; the engine-specific code reads and writes them.
/// </summary>
public sealed record TableInfo
{
    /// <summary>The database engine the rows came from ("postgresql" or "sqlite").</summary>
    [JsonPropertyName("engine")] public required string Engine { get; init; }
    [JsonPropertyName("schema")] public required string Schema { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    /// <summary>The stored columns, in the order each row holds them (generated and excluded columns are not stored).</summary>
    [JsonPropertyName("columns")] public required IReadOnlyList<TableColumn> Columns { get; init; }
    /// <summary>The primary key's columns, in key order; empty when the table has none (key-based restores are refused).</summary>
    [JsonPropertyName("key")] public required IReadOnlyList<string> Key { get; init; }
    /// <summary>
    /// "pg-copy-text": the entry's content is PostgreSQL's COPY text format, one row per line, in key order.
    /// "sqlite-file": the rows are inside the SQLite database file this table belongs to (the entry listing it).
    /// </summary>
    [JsonPropertyName("format")] public required string Format { get; init; }
    /// <summary>
    /// "full": the content holds every row. "delta": the content is a full base's blobs (<see cref="Base"/> says
    /// how many), then records of the rows changed since that base and the keys deleted since (docs/format.md).
    /// </summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "full";
    /// <summary>For a delta: where its base ends in the content, and what the base holds.</summary>
    [JsonPropertyName("base")] public TableBase? Base { get; init; }
    [JsonPropertyName("rows")] public long Rows { get; init; }
    /// <summary>
    /// SHA-256 (hex) of the rows: a restore proves with it that the rows it read are the rows backed up. For
    /// "pg-copy-text", of the content's bytes; for "sqlite-file", of the rows in the table's own order, each value
    /// typed and length-prefixed (docs/format.md).
    /// </summary>
    [JsonPropertyName("checksum")] public required string Checksum { get; init; }
    /// <summary>The row filter the backup ran with (<c>--where</c>), if any: then the rows are only those matching it.</summary>
    [JsonPropertyName("filter")] public string? Filter { get; init; }
    /// <summary>Columns left out on request (<c>--exclude-column</c>): a restore leaves their live values alone.</summary>
    [JsonPropertyName("excluded_columns")] public IReadOnlyList<string>? ExcludedColumns { get; init; }
    /// <summary>Tables this one references by foreign key ("schema.table"): restores load those first.</summary>
    [JsonPropertyName("references")] public IReadOnlyList<string>? References { get; init; }

    [JsonIgnore] public string QualifiedName => $"{Schema}.{Name}";
}

/// <summary>The full copy of a table that a delta entry's changes apply to: the first <see cref="Blobs"/> blobs of its content.</summary>
public sealed record TableBase(
    [property: JsonPropertyName("blobs")] int Blobs,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("rows")] long Rows);

public sealed record TableColumn(
    [property: JsonPropertyName("name")] string Name,
    /// <summary>The type as the engine spells it (PostgreSQL: format_type, e.g. "numeric(12,2)", "text[]").</summary>
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("not_null")] bool NotNull = false);
