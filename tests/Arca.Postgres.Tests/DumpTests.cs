using System.Text.Json;
using Arca.Cli;
using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// arca dump writes a table of a snapshot as CSV (RFC 4180: a header, CRLF, quotes where needed, NULL an empty
/// field and the empty string ""), as NDJSON or as one JSON document (numbers as numbers but NaN and the
/// infinities as strings, booleans as booleans, json embedded), checked byte for byte; raw gives the stored
/// COPY text, and the schema files come out as they are.
/// </summary>
public sealed class DumpTests
{
    private const string SamplesSql = """
        CREATE TABLE public.samples (
            id integer PRIMARY KEY,
            label text,
            amount numeric(10,2),
            ratio double precision,
            big bigint,
            active boolean,
            doc jsonb,
            raw json,
            tags text[],
            born date);
        INSERT INTO public.samples VALUES
        (1, 'plain', 12.50, 0.5, 9223372036854775807, true, '{"b": [true, null], "a": 1}', '{"x" :  "y"}', '{a,b}', '2024-02-29'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, '', 0, 'NaN', -1, false, '[]', 'null', '{}', '-infinity'),
        (4, 'comma, "quote"', -0.01, 'Infinity', 0, true, '"text"', '3.5', '{"x,y",NULL}', '1999-12-31'),
        (5, E'line1\nline2\r\n\ttab\\back', 'NaN', '-Infinity', -9223372036854775808, false, '{"nested": {"k": "v\"q"}}', '[1,2]', '{}', NULL),
        (6, 'héllo → 世界 עברית', 1e6, 1e-7, 42, NULL, '0', '"é"', '{}', '2000-01-01'),
        (7, ' padded ', 99999999.99, '-0', 7, true, 'true', '{}', '{" sp "}', '0001-01-01');
        CREATE TABLE public.texts (id integer PRIMARY KEY, s text NOT NULL);
        INSERT INTO public.texts VALUES
        (1, 'emoji 🎉 family 👩‍👩‍👧 flag 🇪🇺'),
        (2, E'control \x01\x1f, line separator \u2028, soft hyphen \u00ad'),
        (3, '\u00e9 is six characters, not é');
        """;

    private const string ExpectedCsv =
        "id,label,amount,ratio,big,active,doc,raw,tags,born\r\n" +
        "1,plain,12.50,0.5,9223372036854775807,t,\"{\"\"a\"\": 1, \"\"b\"\": [true, null]}\",\"{\"\"x\"\" :  \"\"y\"\"}\",\"{a,b}\",2024-02-29\r\n" +
        "2,,,,,,,,,\r\n" +
        "3,\"\",0.00,NaN,-1,f,[],null,{},-infinity\r\n" +
        "4,\"comma, \"\"quote\"\"\",-0.01,Infinity,0,t,\"\"\"text\"\"\",3.5,\"{\"\"x,y\"\",NULL}\",1999-12-31\r\n" +
        "5,\"line1\nline2\r\n\ttab\\back\",NaN,-Infinity,-9223372036854775808,f,\"{\"\"nested\"\": {\"\"k\"\": \"\"v\\\"\"q\"\"}}\",\"[1,2]\",{},\r\n" +
        "6,héllo → 世界 עברית,1000000.00,1e-07,42,,0,\"\"\"é\"\"\",{},2000-01-01\r\n" +
        "7,\" padded \",99999999.99,-0,7,t,true,{},\"{\"\" sp \"\"}\",0001-01-01\r\n";

    private static readonly string[] ExpectedRows =
    [
        """{"id":1,"label":"plain","amount":12.50,"ratio":0.5,"big":9223372036854775807,"active":true,"doc":{"a": 1, "b": [true, null]},"raw":{"x" :  "y"},"tags":"{a,b}","born":"2024-02-29"}""",
        """{"id":2,"label":null,"amount":null,"ratio":null,"big":null,"active":null,"doc":null,"raw":null,"tags":null,"born":null}""",
        """{"id":3,"label":"","amount":0.00,"ratio":"NaN","big":-1,"active":false,"doc":[],"raw":null,"tags":"{}","born":"-infinity"}""",
        """{"id":4,"label":"comma, \"quote\"","amount":-0.01,"ratio":"Infinity","big":0,"active":true,"doc":"text","raw":3.5,"tags":"{\"x,y\",NULL}","born":"1999-12-31"}""",
        """{"id":5,"label":"line1\nline2\r\n\ttab\\back","amount":"NaN","ratio":"-Infinity","big":-9223372036854775808,"active":false,"doc":{"nested": {"k": "v\"q"}},"raw":[1,2],"tags":"{}","born":null}""",
        """{"id":6,"label":"héllo → 世界 עברית","amount":1000000.00,"ratio":1e-07,"big":42,"active":null,"doc":0,"raw":"é","tags":"{}","born":"2000-01-01"}""",
        """{"id":7,"label":" padded ","amount":99999999.99,"ratio":-0,"big":7,"active":true,"doc":true,"raw":{},"tags":"{\" sp \"}","born":"0001-01-01"}""",
    ];

    /// <summary>Backs up the samples table; returns the database's name and the snapshot's id.</summary>
    private static async Task<(string Database, string Snapshot)> BackupSamplesAsync(PgSandbox sandbox)
    {
        var url = await sandbox.NewDatabaseAsync(SamplesSql);
        var snapshot = await sandbox.BackupAsync(url);
        return (PgTestServer.DatabaseName(url), snapshot);
    }

    [Fact]
    public async Task Csv_is_a_header_and_rfc_4180_rows_with_crlf_and_null_distinct_from_the_empty_string()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var (database, snapshot) = await BackupSamplesAsync(sandbox);

        var csv = await sandbox.RunAsync("dump", "latest", database + "/public.samples");
        csv.ShouldSucceed();
        csv.Out.ShouldBe(ExpectedCsv);
        csv.Error.ShouldBeEmpty();

        // --format csv, a snapshot id and the table's full path give the same.
        (await sandbox.RunAsync("dump", snapshot[..8], database + "/tables/public.samples", "--format", "csv")).Out.ShouldBe(ExpectedCsv);
    }

    [Fact]
    public async Task Ndjson_is_one_object_per_row_with_typed_values()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var (database, _) = await BackupSamplesAsync(sandbox);

        var ndjson = await sandbox.RunAsync("dump", "latest", database + "/public.samples", "--format", "ndjson");
        ndjson.ShouldSucceed();
        ndjson.Out.ShouldBe(string.Join("", ExpectedRows.Select(r => r + "\n")));
        foreach (var line in ndjson.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var row = JsonDocument.Parse(line); // each line is a JSON document of its own
            row.RootElement.ValueKind.ShouldBe(JsonValueKind.Object);
        }
    }

    [Fact]
    public async Task Json_is_one_document_with_the_tables_metadata_and_its_rows()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var (database, snapshot) = await BackupSamplesAsync(sandbox);

        var json = await sandbox.RunAsync("dump", "latest", database + "/public.samples", "--format", "json");
        json.ShouldSucceed();
        string time;
        using (var document = json.Json())
        {
            var root = document.RootElement;
            time = root.GetProperty("time").GetString()!;
            DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture).ShouldBe(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
            root.GetProperty("rows")[5].GetProperty("label").GetString().ShouldBe("héllo → 世界 עברית");
            root.GetProperty("rows")[4].GetProperty("label").GetString().ShouldBe("line1\nline2\r\n\ttab\\back");
        }
        // One line in the output; broken here for reading (the values hold no raw newline, only \n escapes).
        var expected = $$"""
            {"table":"public.samples","database":"{{database}}","snapshot":"{{snapshot}}","time":"{{time}}",
            "columns":[{"name":"id","type":"integer"},{"name":"label","type":"text"},{"name":"amount","type":"numeric(10,2)"},
            {"name":"ratio","type":"double precision"},{"name":"big","type":"bigint"},{"name":"active","type":"boolean"},
            {"name":"doc","type":"jsonb"},{"name":"raw","type":"json"},{"name":"tags","type":"text[]"},{"name":"born","type":"date"}],
            "key":["id"],"filter":null,"excluded_columns":[],"row_count":7,"rows":[{{string.Join(",", ExpectedRows)}}]}
            """.Replace("\n", "", StringComparison.Ordinal) + "\n";
        json.Out.ShouldBe(expected);
    }

    [Fact]
    public async Task Emoji_and_control_characters_come_out_intact_in_every_format()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var (database, _) = await BackupSamplesAsync(sandbox);
        string[] texts =
        [
            "emoji 🎉 family 👩‍👩‍👧 flag 🇪🇺",
            "control \u0001\u001f, line separator \u2028, soft hyphen \u00ad",
            "\\u00e9 is six characters, not é",
        ];

        var csv = await sandbox.RunAsync("dump", "latest", database + "/public.texts");
        csv.ShouldSucceed();
        csv.Out.ShouldBe($"id,s\r\n1,{texts[0]}\r\n2,\"{texts[1]}\"\r\n3,\"{texts[2]}\"\r\n");

        // JSON may escape any character; what matters is that each value reads back as the same text.
        var ndjson = await sandbox.RunAsync("dump", "latest", database + "/public.texts", "--format", "ndjson");
        ndjson.ShouldSucceed();
        var lines = ndjson.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("s").GetString()).ShouldBe(texts);
        var json = await sandbox.RunAsync("dump", "latest", database + "/public.texts", "--format", "json");
        json.ShouldSucceed();
        using var document = json.Json();
        document.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("s").GetString()).ShouldBe(texts);
    }

    [Theory]
    [InlineData("\"Sales.EU\".orders", "Sales%2EEU.orders")]
    [InlineData("public.\"Order Lines\"", "public.Order Lines")]
    [InlineData("public.\"in/out\"", "public.in%2Fout")]
    public async Task A_table_with_a_dot_space_or_slash_in_its_name_is_dumped_by_its_sql_name_and_by_its_path(string sqlName, string entryName)
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync($"""
            CREATE SCHEMA IF NOT EXISTS "Sales.EU";
            CREATE TABLE {sqlName} (id integer PRIMARY KEY, item text);
            INSERT INTO {sqlName} VALUES (1, 'one'), (2, 'two');
            """);
        var database = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url);
        const string Expected = "id,item\r\n1,one\r\n2,two\r\n";

        var byPath = await sandbox.RunAsync("dump", "latest", $"{database}/tables/{entryName}");
        byPath.ShouldSucceed();
        byPath.Out.ShouldBe(Expected);
        var bySqlName = await sandbox.RunAsync("dump", "latest", $"{database}/{sqlName}");
        bySqlName.ShouldSucceed();
        bySqlName.Out.ShouldBe(Expected);
    }

    [Fact]
    public async Task Raw_gives_the_stored_copy_text_and_the_schema_files_come_out_as_they_are()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var (database, _) = await BackupSamplesAsync(sandbox);

        var raw = await sandbox.RunAsync("dump", "latest", database + "/public.samples", "--format", "raw");
        raw.ShouldSucceed();
        var copy = await PgTestServer.PsqlAsync(database,
            "COPY (SELECT * FROM public.samples ORDER BY id) TO STDOUT");
        raw.Out.ShouldBe(copy);
        raw.Out.ShouldContain("5\tline1\\nline2\\r\\n\\ttab\\\\back\t");

        var preData = await sandbox.RunAsync("dump", "latest", database + "/pre-data.sql");
        preData.ShouldSucceed();
        preData.Out.ShouldContain("CREATE TABLE public.samples (");
        preData.Out.ShouldNotContain("PRIMARY KEY"); // constraints are post-data
        var postData = await sandbox.RunAsync("dump", "latest", database + "/post-data.sql");
        postData.ShouldSucceed();
        postData.Out.ShouldContain("ADD CONSTRAINT samples_pkey PRIMARY KEY (id);");

        (await sandbox.RunAsync("dump", "latest", database + "/pre-data.sql", "--format", "csv")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("dump", "latest", database + "/public.samples", "--format", "xml")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("dump", "latest", database + "/public.nope")).ShouldFailWith(ExitCodes.PathNotFound);
    }
}
