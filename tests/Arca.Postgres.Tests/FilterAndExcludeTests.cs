using Arca.Cli;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// Row filters and excluded columns at backup: a filtered table holds exactly the rows the condition selects
/// (and says so in ls and the dump's metadata), other tables stay whole; an excluded column is nowhere in the
/// snapshot, not in the dump's columns and not in the stored COPY text, and a later upsert leaves its live
/// values alone.
/// </summary>
public sealed class FilterAndExcludeTests
{
    private const string OrdersSql = """
        CREATE TABLE public.orders (id serial PRIMARY KEY, status text, total numeric(10,2) NOT NULL, note text);
        INSERT INTO public.orders (status, total, note)
            SELECT (ARRAY['open', 'closed', 'Open', 'open ', NULL, 'cancelled'])[1 + g % 6], g * 0.75,
                   CASE WHEN g % 5 = 0 THEN NULL ELSE 'note, "' || g || E'"\n' END
            FROM generate_series(1, 600) AS g;
        CREATE TABLE public.products (id integer PRIMARY KEY, name text NOT NULL);
        INSERT INTO public.products SELECT g, 'product ' || g FROM generate_series(1, 40) AS g;
        """;

    [Fact]
    public async Task A_where_filter_keeps_exactly_the_matching_rows_and_leaves_other_tables_whole()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(OrdersSql);
        var name = PgTestServer.DatabaseName(url);
        var expected = (await PgTestServer.RowsAsync(name,
            "SELECT row_to_json(o)::text FROM public.orders AS o WHERE status = 'open' ORDER BY id")).Select(r => r[0]!).ToList();
        expected.Count.ShouldBe(100);

        var backup = await sandbox.RunAsync("backup", url, "--where", "public.orders: status = 'open'", "--json");
        backup.ShouldSucceed();
        using (var json = backup.Json())
        {
            var database = json.RootElement.GetProperty("databases")[0];
            database.GetProperty("tables").GetInt32().ShouldBe(2);
            database.GetProperty("rows").GetInt64().ShouldBe(140);
        }

        (await sandbox.ListTablesAsync(name)).ShouldBe(new Dictionary<string, long> { ["public.orders"] = 100, ["public.products"] = 40 }, ignoreOrder: true);

        var dump = await sandbox.RunAsync("dump", "latest", name + "/public.orders", "--format", "ndjson");
        dump.ShouldSucceed();
        var lines = dump.Out.Split('\n');
        lines[^1].ShouldBeEmpty("the output ends with a newline");
        lines.Length.ShouldBe(expected.Count + 1, dump.Out);
        for (var i = 0; i < expected.Count; i++)
        {
            JsonNode.DeepEquals(JsonNode.Parse(lines[i]), JsonNode.Parse(expected[i])).ShouldBeTrue($"row {i}:\n{lines[i]}\n{expected[i]}");
        }

        var document = await sandbox.RunAsync("dump", "latest", name + "/public.orders", "--format", "json");
        document.ShouldSucceed();
        using (var json = document.Json())
        {
            json.RootElement.GetProperty("filter").GetString().ShouldBe("status = 'open'");
            json.RootElement.GetProperty("row_count").GetInt64().ShouldBe(100);
            json.RootElement.GetProperty("rows").GetArrayLength().ShouldBe(100);
        }
        var products = await sandbox.RunAsync("dump", "latest", name + "/public.products", "--format", "json");
        products.ShouldSucceed();
        using (var json = products.Json())
        {
            json.RootElement.GetProperty("filter").ValueKind.ShouldBe(JsonValueKind.Null);
            json.RootElement.GetProperty("row_count").GetInt64().ShouldBe(40);
        }
    }

    [Fact]
    public async Task A_filtered_snapshot_restored_with_upsert_touches_only_the_rows_it_holds()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(OrdersSql);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url, "--table", "public.orders", "--where", "public.orders: total > 300");
        var before = await PgTestServer.TableChecksumAsync(name, "public.orders", "t.id", "total > 300");
        await PgTestServer.ExecuteAsync(name, "UPDATE public.orders SET note = 'damaged' WHERE id % 2 = 0");

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", "public.orders", "--to", url, "--mode", "upsert", "--yes");
        table.Long("snapshot_rows").ShouldBe(200);
        table.Long("insert").ShouldBe(0);
        table.Long("update").ShouldBe(100);

        (await PgTestServer.TableChecksumAsync(name, "public.orders", "t.id", "total > 300")).ShouldBe(before);
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM public.orders WHERE total <= 300 AND note = 'damaged'")).ShouldBe(200);
    }

    private const string UsersSql = """
        CREATE TABLE public.users (
            id serial PRIMARY KEY,
            email text NOT NULL,
            password_hash text,
            display_name text);
        INSERT INTO public.users (email, password_hash, display_name)
            SELECT 'user' || g || '@example.com', 'secret-hash-' || md5(g::text), 'User ' || g FROM generate_series(1, 300) AS g;
        """;

    [Fact]
    public async Task A_replace_of_a_filtered_snapshot_needs_a_where_and_then_deletes_only_within_it()
    {
        // The backup held the open orders only: a replace of the whole table would delete every other live order.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(OrdersSql);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url, "--table", "public.orders", "--where", "public.orders: status = 'open'");
        await PgTestServer.ExecuteAsync(name, "DELETE FROM public.orders WHERE status = 'open' AND id % 2 = 0; UPDATE public.orders SET total = 0 WHERE status = 'closed'");
        var closed = await PgTestServer.TableChecksumAsync(name, "public.orders", "t.id", "status IS DISTINCT FROM 'open'");
        var before = await PgTestServer.TableChecksumAsync(name, "public.orders", "t.id");

        var refused = await sandbox.RunAsync("restore", "latest", "--table", "public.orders", "--to", url, "--mode", "replace", "--yes");
        refused.ShouldFailWith(ExitCodes.Usage);
        refused.Error.ShouldContain("was backed up with a row filter (status = 'open')");
        (await PgTestServer.TableChecksumAsync(name, "public.orders", "t.id")).ShouldBe(before);

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", "public.orders", "--to", url, "--mode", "replace", "--where", "status = 'open'", "--yes");
        table.Long("insert").ShouldBe(100); // every open order has an even id: all were deleted
        table.Long("delete").ShouldBe(0);
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM public.orders")).ShouldBe(600);
        (await PgTestServer.TableChecksumAsync(name, "public.orders", "t.id", "status IS DISTINCT FROM 'open'")).ShouldBe(closed);
    }

    [Fact]
    public async Task A_replace_of_a_keyless_table_backed_up_without_a_column_is_refused_as_it_would_empty_that_column()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.log (name text NOT NULL, secret text);
            INSERT INTO public.log SELECT 'entry ' || g, 'secret ' || g FROM generate_series(1, 5) AS g;
            """);
        var name = PgTestServer.DatabaseName(url);
        (await sandbox.RunAsync("backup", url, "--exclude-column", "public.log.secret")).ShouldSucceed();

        var result = await sandbox.RunAsync("restore", "latest", "--table", "public.log", "--to", url, "--mode", "replace", "--yes");

        result.ShouldFailWith(ExitCodes.Usage);
        result.Error.ShouldContain("has no primary key and was backed up without secret");
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM public.log WHERE secret LIKE 'secret %'")).ShouldBe(5);
    }


    [Fact]
    public async Task An_excluded_column_is_absent_from_the_snapshot_and_an_upsert_keeps_its_live_values()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(UsersSql);
        var name = PgTestServer.DatabaseName(url);
        var original = await PgTestServer.TableChecksumAsync(name, "(SELECT id, email, display_name FROM public.users)", "t.id");
        await sandbox.BackupAsync(url, "--exclude-column", "public.users.password_hash");

        var document = await sandbox.RunAsync("dump", "latest", name + "/public.users", "--format", "json");
        document.ShouldSucceed();
        using (var json = document.Json())
        {
            json.RootElement.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString())
                .ShouldBe(["id", "email", "display_name"]);
            json.RootElement.GetProperty("excluded_columns").EnumerateArray().Select(c => c.GetString()).ShouldBe(["password_hash"]);
            foreach (var row in json.RootElement.GetProperty("rows").EnumerateArray())
            {
                row.EnumerateObject().Select(p => p.Name).ShouldBe(["id", "email", "display_name"]);
            }
        }
        var csv = await sandbox.RunAsync("dump", "latest", name + "/public.users");
        csv.ShouldSucceed();
        csv.Out.ShouldStartWith("id,email,display_name\r\n");
        var raw = await sandbox.RunAsync("dump", "latest", name + "/public.users", "--format", "raw");
        raw.ShouldSucceed();
        raw.Out.ShouldNotContain("secret-hash");
        var rows = raw.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        rows.Length.ShouldBe(300);
        rows.ShouldAllBe(r => r.Split('\t').Length == 3);
        rows[0].ShouldBe("1\tuser1@example.com\tUser 1");

        // Later: other columns damaged, some passwords changed by their users. The restore mends the
        // former and must not touch the latter.
        await PgTestServer.ExecuteAsync(name, """
            UPDATE public.users SET email = 'broken-' || id, display_name = NULL WHERE id % 3 = 0;
            UPDATE public.users SET password_hash = 'changed-' || id WHERE id % 4 = 0;
            UPDATE public.users SET password_hash = NULL WHERE id % 25 = 1;
            """);
        var passwords = await PgTestServer.TableChecksumAsync(name, "(SELECT id, password_hash FROM public.users)", "t.id");

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", "public.users", "--to", url, "--mode", "upsert", "--yes");
        table.Long("update").ShouldBe(100);
        table.Long("insert").ShouldBe(0);
        table.Bool("verified").ShouldBeTrue();

        (await PgTestServer.TableChecksumAsync(name, "(SELECT id, email, display_name FROM public.users)", "t.id")).ShouldBe(original);
        (await PgTestServer.TableChecksumAsync(name, "(SELECT id, password_hash FROM public.users)", "t.id")).ShouldBe(passwords);
    }
}
