using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Arca.Trees;

namespace Arca.Sources.Postgres;

public enum ExportFormat
{
    Csv,
    NdJson,
    Json,
}

/// <summary>Where the rows being exported came from, for the json format's header.</summary>
public sealed record ExportContext(string Snapshot, DateTimeOffset Time, string? Database);

/// <summary>
/// Turns a table's stored rows into CSV (a header, then RFC 4180 rows; NULL is an empty field, an empty
/// string is ""), NDJSON (one object per row) or one JSON document (the table's metadata, then its rows).
/// In JSON, integers, numerics and floats are numbers (NaN and infinities, which JSON lacks, are strings),
/// booleans are booleans, json and jsonb are embedded as JSON, and everything else is PostgreSQL's text.
/// </summary>
public static class TableExport
{
    public static async Task<long> WriteAsync(Stream rows, TableInfo table, ExportFormat format, ExportContext context, Stream output,
        CancellationToken cancellationToken)
    {
        using var reader = new CopyTextReader(rows);
        var kinds = table.Columns.Select(c => KindOf(c.Type)).ToArray();
        var names = table.Columns.Select(c => c.Name).ToArray();
        long count = 0;
        if (format == ExportFormat.Csv)
        {
            var line = new MemoryStream();
            WriteCsvLine(line, names.Select(n => (byte[]?)Encoding.UTF8.GetBytes(n)).ToList(), header: true);
            while (await reader.ReadRowAsync(cancellationToken) is { } row)
            {
                WriteCsvLine(line, row, header: false);
                count++;
                if (line.Length > 1 << 16)
                {
                    await FlushAsync(line, output, cancellationToken);
                }
            }
            await FlushAsync(line, output, cancellationToken);
            return count;
        }
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
        var buffer = new MemoryStream();
        await using var json = new Utf8JsonWriter(buffer, options);
        if (format == ExportFormat.Json)
        {
            json.WriteStartObject();
            json.WriteString("table", table.QualifiedName);
            if (context.Database is not null)
            {
                json.WriteString("database", context.Database);
            }
            json.WriteString("snapshot", context.Snapshot);
            json.WriteString("time", context.Time);
            json.WriteStartArray("columns");
            foreach (var column in table.Columns)
            {
                json.WriteStartObject();
                json.WriteString("name", column.Name);
                json.WriteString("type", column.Type);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("key");
            foreach (var k in table.Key)
            {
                json.WriteStringValue(k);
            }
            json.WriteEndArray();
            if (table.Filter is null)
            {
                json.WriteNull("filter");
            }
            else
            {
                json.WriteString("filter", table.Filter);
            }
            json.WriteStartArray("excluded_columns");
            foreach (var c in table.ExcludedColumns ?? [])
            {
                json.WriteStringValue(c);
            }
            json.WriteEndArray();
            json.WriteNumber("row_count", table.Rows);
            json.WriteStartArray("rows");
        }
        while (await reader.ReadRowAsync(cancellationToken) is { } row)
        {
            if (row.Count != names.Length)
            {
                throw new InvalidDataException($"A row of {table.QualifiedName} holds {row.Count} fields, not {names.Length}.");
            }
            json.WriteStartObject();
            for (var i = 0; i < names.Length; i++)
            {
                json.WritePropertyName(names[i]);
                WriteValue(json, kinds[i], row[i]);
            }
            json.WriteEndObject();
            count++;
            if (format == ExportFormat.NdJson)
            {
                await json.FlushAsync(cancellationToken);
                buffer.WriteByte((byte)'\n');
                json.Reset();
            }
            if (buffer.Length > 1 << 16)
            {
                await json.FlushAsync(cancellationToken);
                await FlushAsync(buffer, output, cancellationToken);
            }
        }
        if (format == ExportFormat.Json)
        {
            json.WriteEndArray();
            json.WriteEndObject();
            await json.FlushAsync(cancellationToken);
            buffer.WriteByte((byte)'\n');
        }
        await json.FlushAsync(cancellationToken);
        await FlushAsync(buffer, output, cancellationToken);
        return count;
    }

    private enum Kind
    {
        Text,
        Integer,
        Float,
        Boolean,
        Json,
    }

    private static Kind KindOf(string type) => type switch
    {
        "smallint" or "integer" or "bigint" => Kind.Integer,
        "real" or "double precision" => Kind.Float,
        "boolean" => Kind.Boolean,
        "json" or "jsonb" => Kind.Json,
        _ when type.StartsWith("numeric", StringComparison.Ordinal) && !type.EndsWith("[]", StringComparison.Ordinal) => Kind.Float,
        _ => Kind.Text,
    };

    private static void WriteValue(Utf8JsonWriter json, Kind kind, byte[]? value)
    {
        if (value is null)
        {
            json.WriteNullValue();
            return;
        }
        switch (kind)
        {
            case Kind.Integer:
                json.WriteRawValue(value, skipInputValidation: true);
                break;
            case Kind.Float when value is [(byte)'N', ..] || value.AsSpan().IndexOf("Infinity"u8) >= 0:
                json.WriteStringValue(value);
                break;
            case Kind.Float:
                json.WriteRawValue(value, skipInputValidation: true);
                break;
            case Kind.Boolean:
                json.WriteBooleanValue(value is [(byte)'t']);
                break;
            case Kind.Json:
                json.WriteRawValue(value, skipInputValidation: false);
                break;
            default:
                json.WriteStringValue(value);
                break;
        }
    }

    private static void WriteCsvLine(MemoryStream line, List<byte[]?> fields, bool header)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0)
            {
                line.WriteByte((byte)',');
            }
            var field = fields[i];
            if (field is null)
            {
                continue;
            }
            var quote = field.Length == 0 || field.AsSpan().IndexOfAny(",\"\r\n"u8) >= 0 || (!header && (field[0] == ' ' || field[^1] == ' '));
            if (!quote)
            {
                line.Write(field);
                continue;
            }
            line.WriteByte((byte)'"');
            foreach (var b in field)
            {
                if (b == '"')
                {
                    line.WriteByte((byte)'"');
                }
                line.WriteByte(b);
            }
            line.WriteByte((byte)'"');
        }
        line.Write("\r\n"u8);
    }

    private static async Task FlushAsync(MemoryStream buffer, Stream output, CancellationToken cancellationToken)
    {
        await output.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
        buffer.SetLength(0);
    }
}
