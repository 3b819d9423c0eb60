using System.Text;
using System.Text.RegularExpressions;

namespace Arca.Sources.Postgres;

/// <summary>
/// A pg_dump script cut into its objects, so that a restore can build independent ones at once (pg_restore -j
/// does the same with its archive's table of contents). pg_dump heads every object with a comment block
/// "-- Name: ...; Type: TYPE; Schema: ...": the text before the first one is the session set-up each
/// connection needs, without psql's \restrict lines, which only psql understands.
/// </summary>
internal sealed partial class SchemaScript
{
    public required string Preamble { get; init; }
    public required IReadOnlyList<(string Type, string Sql)> Objects { get; init; }

    /// <summary>Objects that only need their own table's rows: indexes and key, unique and check constraints.</summary>
    public IEnumerable<string> Independent => Objects.Where(o => o.Type is "INDEX" or "CONSTRAINT").Select(o => o.Sql);

    /// <summary>
    /// The table an independent object is built on, unquoted, as pg_dump names it (<c>CREATE [UNIQUE] INDEX name ON
    /// [ONLY] schema.table</c>, <c>ALTER TABLE [ONLY] schema.table ADD CONSTRAINT</c>); null if the statement is not one
    /// of those shapes.
    /// </summary>
    public static (string Schema, string Table)? TableOf(string sql)
    {
        var match = BuiltOn().Match(sql);
        // Group 1 is an index's own name.
        return match.Success ? (Unquote(match.Groups[2].Value), Unquote(match.Groups[3].Value)) : null;
    }

    private static string Unquote(string ident) =>
        ident.StartsWith('"') ? ident[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : ident;

    /// <summary>Everything else, in pg_dump's order, as one script for psql (foreign keys, triggers, rules, ...).</summary>
    public string Dependent => Preamble + string.Concat(Objects.Where(o => o.Type is not ("INDEX" or "CONSTRAINT")).Select(o => o.Sql));

    /// <summary>Whether the script turns row-level security on for some table, or creates policies.</summary>
    public bool SetsRowSecurity => Objects.Any(o => o.Type is "ROW SECURITY" or "POLICY");

    public static SchemaScript Parse(string script)
    {
        var heads = Head().Matches(script);
        var preambleEnd = heads.Count > 0 ? heads[0].Index : script.Length;
        var preamble = new StringBuilder();
        foreach (var line in script[..preambleEnd].Split('\n'))
        {
            if (!line.StartsWith('\\'))
            {
                preamble.Append(line).Append('\n');
            }
        }
        var objects = new List<(string, string)>();
        for (var i = 0; i < heads.Count; i++)
        {
            var end = i + 1 < heads.Count ? heads[i + 1].Index : script.Length;
            var sql = script[heads[i].Index..end];
            // The closing \unrestrict belongs to psql, not to the last object.
            sql = string.Join('\n', sql.Split('\n').Where(l => !l.StartsWith('\\')));
            objects.Add((heads[i].Groups[1].Value, sql));
        }
        return new SchemaScript { Preamble = preamble.ToString(), Objects = objects };
    }

    [GeneratedRegex(@"^--\n-- Name: [^\n]*; Type: ([^;\n]+); Schema:", RegexOptions.Multiline)]
    private static partial Regex Head();

    /// <summary>An identifier as pg_dump writes it: bare (no dots, quotes or spaces) or double-quoted.</summary>
    private const string Ident = "(\"(?:[^\"]|\"\")*\"|[^\\s.\"]+)";

    [GeneratedRegex(@"^(?:CREATE (?:UNIQUE )?INDEX " + Ident + " ON|ALTER TABLE) (?:ONLY )?" + Ident + @"\." + Ident + @"\s", RegexOptions.Multiline)]
    private static partial Regex BuiltOn();
}
