using System.Globalization;
using System.Text;
using Arca.Trees;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Arca.Sources.Sqlite;

/// <summary>
/// Moves rows between SQLite and PostgreSQL's COPY text format, for restoring a table into the other engine. Values
/// keep their meaning, not their engine's spelling: integers and reals as numbers, text as text, blobs as bytes
/// (PostgreSQL bytea), booleans as 1 and 0 in SQLite. A value that has no counterpart in the target column is refused
/// by name rather than stored as something else.
/// </summary>
public static class ForeignRows
{
    /// <summary>
    /// Writes the rows of <paramref name="table"/> in the SQLite file at <paramref name="path"/> as COPY text, one row per
    /// line with the table's stored columns in order. <paramref name="targetTypes"/> are the PostgreSQL column types
    /// the rows go to: a blob can only go to bytea.
    /// </summary>
    public static async Task WriteCopyTextAsync(string path, TableInfo table, IReadOnlyList<string> targetTypes, Stream output, CancellationToken cancellationToken)
    {
        using var connection = SqliteFile.Open(path, SqliteOpenMode.ReadOnly, TimeSpan.FromSeconds(5));
        var db = connection.Handle!;
        var sql = $"SELECT {string.Join(", ", table.Columns.Select(c => SqliteFile.Ident(c.Name)))} FROM main.{SqliteFile.Ident(table.Name)} NOT INDEXED";
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(db, sql, out var statement), db);
        using (statement)
        {
            var line = new MemoryStream();
            int rc;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                for (var i = 0; i < table.Columns.Count; i++)
                {
                    if (i > 0)
                    {
                        line.WriteByte((byte)'\t');
                    }
                    var bytea = targetTypes[i] == "bytea";
                    switch (raw.sqlite3_column_type(statement, i))
                    {
                        case raw.SQLITE_NULL:
                            line.Write("\\N"u8);
                            break;
                        case raw.SQLITE_INTEGER when !bytea:
                            line.Write(Encoding.ASCII.GetBytes(raw.sqlite3_column_int64(statement, i).ToString(CultureInfo.InvariantCulture)));
                            break;
                        case raw.SQLITE_FLOAT when !bytea:
                            line.Write(Encoding.ASCII.GetBytes(Real(raw.sqlite3_column_double(statement, i))));
                            break;
                        case raw.SQLITE_TEXT when !bytea:
                            Escape(line, raw.sqlite3_column_blob(statement, i));
                            break;
                        case raw.SQLITE_BLOB or raw.SQLITE_TEXT when bytea:
                            line.Write("\\\\x"u8);
                            line.Write(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(raw.sqlite3_column_blob(statement, i))));
                            break;
                        case var type:
                            throw new ArcaException(ErrorCode.TableMismatch,
                                $"Column {table.Columns[i].Name} of SQLite table {table.Name} holds {(type == raw.SQLITE_BLOB ? "a blob" : "a number")}, which does not convert to {targetTypes[i]}.",
                                type == raw.SQLITE_BLOB ? "Restore --into a table whose column is bytea." : "Restore --into a table whose column holds numbers or text.");
                    }
                }
                line.WriteByte((byte)'\n');
                if (line.Length > 1 << 16)
                {
                    await output.WriteAsync(line.GetBuffer().AsMemory(0, (int)line.Length), cancellationToken);
                    line.SetLength(0);
                }
            }
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }
            await output.WriteAsync(line.GetBuffer().AsMemory(0, (int)line.Length), cancellationToken);
        }
    }

    /// <summary>
    /// Inserts rows decoded from COPY text (each field the PostgreSQL text of a value, null for NULL) into the SQLite table
    /// <paramref name="table"/>, converting by the PostgreSQL type each came from (<paramref name="source"/>'s columns): bytea
    /// to a blob, boolean to 1 or 0, the rest as text that the column's affinity turns into numbers where it holds numbers.
    /// </summary>
    public static async Task<long> InsertAsync(SqliteConnection connection, string table, TableInfo source, IAsyncEnumerable<List<byte[]?>> rows,
        CancellationToken cancellationToken)
    {
        var columns = source.Columns;
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO {table} ({string.Join(", ", columns.Select(c => SqliteFile.Ident(c.Name)))}) VALUES ({string.Join(", ", columns.Select((_, i) => "$p" + i))})";
        var parameters = columns.Select((_, i) => command.Parameters.Add(new SqliteParameter("$p" + i, null))).ToArray();
        command.Prepare();
        long count = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            for (var i = 0; i < columns.Count; i++)
            {
                parameters[i].Value = ValueOf(columns[i], row[i], source.Name) ?? DBNull.Value;
            }
            await command.ExecuteNonQueryAsync(cancellationToken);
            count++;
        }
        return count;
    }

    private static object? ValueOf(TableColumn column, byte[]? value, string table)
    {
        if (value is null)
        {
            return null;
        }
        var text = Encoding.UTF8.GetString(value);
        switch (column.Type)
        {
            case "bytea":
                return text.StartsWith("\\x", StringComparison.Ordinal) ? Convert.FromHexString(text.AsSpan(2)) : value;
            case "boolean":
                return text == "t" ? 1L : 0L;
            case "real" or "double precision":
                return text switch
                {
                    "Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    // SQLite stores NaN as NULL: a value would be lost, so it is refused.
                    "NaN" => throw new ArcaException(ErrorCode.TableMismatch, $"Column {column.Name} of {table} holds NaN, which SQLite cannot store.",
                        "Restore the other rows with --where \"NOT ({column.Name} = 'NaN')\", or make the value a number first."),
                    _ => double.Parse(text, CultureInfo.InvariantCulture),
                };
            default:
                return text;
        }
    }

    /// <summary>A real as PostgreSQL reads it back to the same double.</summary>
    private static string Real(double value) => value switch
    {
        double.PositiveInfinity => "Infinity",
        double.NegativeInfinity => "-Infinity",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static void Escape(MemoryStream line, ReadOnlySpan<byte> text)
    {
        foreach (var b in text)
        {
            switch (b)
            {
                case (byte)'\\': line.Write("\\\\"u8); break;
                case (byte)'\t': line.Write("\\t"u8); break;
                case (byte)'\n': line.Write("\\n"u8); break;
                case (byte)'\r': line.Write("\\r"u8); break;
                default: line.WriteByte(b); break;
            }
        }
    }
}
