using Arca.Sources.Postgres;
using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// A whole-database restore builds each table's indexes and key constraints as soon as that table is loaded, so it
/// must find the table in pg_dump's statements, whatever the names look like.
/// </summary>
public sealed class SchemaScriptTests
{
    [Fact]
    public async Task Every_index_and_key_of_real_pg_dump_output_is_found_on_its_table()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var source = await sandbox.NewDatabaseAsync("""
            CREATE SCHEMA "Sales.EU";
            CREATE TABLE "Sales.EU"."Order Lines/2024" ("Line No" integer PRIMARY KEY, "Qty%" numeric CHECK ("Qty%" > 0), note text);
            CREATE UNIQUE INDEX "by note, unique" ON "Sales.EU"."Order Lines/2024" (note);
            CREATE TABLE public."MixedCase" ("ID" integer PRIMARY KEY, "select" text UNIQUE);
            CREATE INDEX ON public."MixedCase" (lower("select"));
            CREATE TABLE public.measurements (city text NOT NULL, logged date NOT NULL, PRIMARY KEY (city, logged)) PARTITION BY RANGE (logged);
            CREATE TABLE public.measurements_2024 PARTITION OF public.measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE INDEX ON public.measurements (city);
            """);
        var name = PgTestServer.DatabaseName(source);
        var script = SchemaScript.Parse(await PgTestServer.PgDumpAsync(name, ["--schema-only", "--section=post-data"]));

        var found = script.Independent.Select(sql => (sql.Split('\n')[1], SchemaScript.TableOf(sql))).ToList();
        found.ShouldNotBeEmpty();
        found.ShouldAllBe(f => f.Item2 != null, string.Join("\n", found.Where(f => f.Item2 == null).Select(f => f.Item1)));
        var tables = found.Select(f => f.Item2!.Value).ToHashSet();
        tables.ShouldBe(new HashSet<(string, string)>
        {
            ("Sales.EU", "Order Lines/2024"),
            ("public", "MixedCase"),
            ("public", "measurements"), // the partitioned parent: its statements wait for every load
            ("public", "measurements_2024"),
        }, ignoreOrder: true);
        SchemaScript.TableOf("-- a comment, no statement").ShouldBeNull();
    }
}
