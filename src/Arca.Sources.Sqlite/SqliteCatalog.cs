using Arca.Trees;
using Microsoft.Data.Sqlite;

namespace Arca.Sources.Sqlite;

/// <summary>An ordinary table of a SQLite database, as its catalog describes it.</summary>
/// <param name="Columns">The stored columns (generated ones are left out), in table order.</param>
/// <param name="Key">The primary key's columns in key order; empty for a rowid table without a declared key.</param>
/// <param name="References">Tables this one references by foreign key.</param>
internal sealed record SqliteTable(string Name, bool WithoutRowid, IReadOnlyList<TableColumn> Columns, IReadOnlyList<string> Key,
    IReadOnlyList<string> References);

/// <summary>Reads a SQLite database's catalog.</summary>
internal static class SqliteCatalog
{
    /// <summary>
    /// The ordinary tables of the main database, by name: not SQLite's own (sqlite_*), not virtual tables (an FTS5
    /// table's rows live in its content and shadow tables) and not shadow tables (FTS5's internals, which only make
    /// sense together with their virtual table, so they are restored with the whole file, never one by one).
    /// </summary>
    public static List<SqliteTable> Tables(SqliteConnection connection)
    {
        var names = new List<(string Name, bool WithoutRowid)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                names.Add((reader.GetString(0), reader.GetInt64(1) != 0));
            }
        }
        return [.. names.Select(n => Describe(connection, n.Name, n.WithoutRowid))];
    }

    /// <summary>One table by name (exactly as the catalog spells it, or case-insensitively as SQLite matches names), or null.</summary>
    public static SqliteTable? Find(SqliteConnection connection, string schema, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, wr, type FROM pragma_table_list WHERE schema = $schema AND name = $name COLLATE NOCASE";
        command.Parameters.AddWithValue("$schema", schema);
        command.Parameters.AddWithValue("$name", name);
        using var reader = command.ExecuteReader();
        if (!reader.Read() || reader.GetString(2) != "table")
        {
            return null;
        }
        var found = reader.GetString(0);
        var withoutRowid = reader.GetInt64(1) != 0;
        reader.Close();
        return Describe(connection, found, withoutRowid, schema);
    }

    private static SqliteTable Describe(SqliteConnection connection, string name, bool withoutRowid, string schema = "main")
    {
        var columns = new List<TableColumn>();
        var key = new List<(int Position, string Name)>();
        using (var command = connection.CreateCommand())
        {
            // hidden: 0 an ordinary column, 2 and 3 generated columns (computed, never stored by a restore).
            command.CommandText = $"SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo({SqliteFile.Literal(name)}, {SqliteFile.Literal(schema)}) ORDER BY cid";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (reader.GetInt64(4) != 0)
                {
                    continue;
                }
                var column = reader.GetString(0);
                columns.Add(new TableColumn(column, reader.GetString(1), reader.GetInt64(2) != 0));
                if (reader.GetInt64(3) is var pk and > 0)
                {
                    key.Add(((int)pk, column));
                }
            }
        }
        var references = new SortedSet<string>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT \"table\" FROM pragma_foreign_key_list({SqliteFile.Literal(name)}, {SqliteFile.Literal(schema)})";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                references.Add(reader.GetString(0));
            }
        }
        references.Remove(name);
        return new SqliteTable(name, withoutRowid, columns, [.. key.OrderBy(k => k.Position).Select(k => k.Name)], [.. references]);
    }

    /// <summary>Every object's CREATE statement, in the order the file keeps them (tables before what depends on them).</summary>
    public static string Schema(SqliteConnection connection)
    {
        var text = new System.Text.StringBuilder();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            text.Append(reader.GetString(0)).Append(";\n");
        }
        return text.ToString();
    }
}
