using System.Text;

namespace Arca.Sources.Postgres;

/// <summary>A schema-qualified table name, as the user writes it and as SQL needs it.</summary>
public readonly record struct TableName(string Schema, string Name)
{
    public override string ToString() => $"{Schema}.{Name}";

    /// <summary>The name quoted for SQL: "schema"."table".</summary>
    public string Sql => $"{Ident(Schema)}.{Ident(Name)}";

    /// <summary>
    /// Parses SCHEMA.TABLE (or TABLE, meaning public.TABLE). A part holding a dot is written in double
    /// quotes, as in SQL: "my.schema".orders. Unquoted names are taken as written (no folding to lower case).
    /// </summary>
    public static TableName Parse(string text)
    {
        var parts = SplitQualified(text);
        return parts.Count switch
        {
            1 => new TableName("public", parts[0]),
            2 => new TableName(parts[0], parts[1]),
            _ => throw new ArcaException(ErrorCode.Usage, $"'{text}' is not a table name.", "Write it as SCHEMA.TABLE, e.g. public.orders."),
        };
    }

    /// <summary>Splits on dots outside double quotes; quotes are removed and "" inside them is one quote.</summary>
    internal static List<string> SplitQualified(string text)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '"')
            {
                if (quoted && i + 1 < text.Length && text[i + 1] == '"')
                {
                    current.Append('"');
                    i++;
                }
                else
                {
                    quoted = !quoted;
                }
            }
            else if (c == '.' && !quoted)
            {
                parts.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }
        parts.Add(current.ToString());
        if (quoted || parts.Any(p => p.Length == 0))
        {
            throw new ArcaException(ErrorCode.Usage, $"'{text}' is not a table name.", "Write it as SCHEMA.TABLE, e.g. public.orders.");
        }
        return parts;
    }

    /// <summary>An identifier quoted for SQL.</summary>
    public static string Ident(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>A string quoted as an SQL literal.</summary>
    public static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// The name of the table's entry in a snapshot: schema.table, with '%', '/' and '.' inside either part
    /// written as %25, %2F and %2E, so the name is one path component and splits back unambiguously.
    /// </summary>
    public string EntryName => $"{EscapePart(Schema)}.{EscapePart(Name)}";

    private static string EscapePart(string part) =>
        part.Replace("%", "%25", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal).Replace(".", "%2E", StringComparison.Ordinal);
}
