using System.Text.Json;
using Arca.Cli;
using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// Table restores after a bad cleanup: a dry run counts exactly what each mode would do and writes nothing;
/// insert-missing brings back deleted rows only, upsert also undoes edits, replace also removes rows the
/// snapshot never had; tables go in foreign-key order whatever order they are named in; sequences move past
/// the restored keys; --into and --where restrict where and what is restored; a table without a primary key
/// can only be replaced.
/// </summary>
public sealed class TableRestoreTests
{
    private const string Customers = "public.customers";

    /// <summary>2,000 customers with a serial key.</summary>
    private const string CustomersSql = """
        CREATE TABLE public.customers (
            id serial PRIMARY KEY,
            name text NOT NULL,
            email text,
            balance numeric(12,2) NOT NULL,
            updated_at timestamptz NOT NULL);
        INSERT INTO public.customers (name, email, balance, updated_at)
            SELECT 'customer ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g || '@example.com' END, g * 1.25,
                   '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour'
            FROM generate_series(1, 2000) AS g;
        """;

    /// <summary>The bad cleanup: 10% deleted (id % 10 = 0), 5% edited (id % 20 = 1), 5 new rows (2001-2005) the snapshot never saw.</summary>
    private const string BadCleanupSql = """
        DELETE FROM public.customers WHERE id % 10 = 0;
        UPDATE public.customers SET balance = balance + 1000, name = name || ' (edited)', email = NULL WHERE id % 20 = 1;
        INSERT INTO public.customers (name, email, balance, updated_at)
            SELECT 'new live ' || g, 'new' || g || '@example.com', g, '2025-01-01 00:00:00+00' FROM generate_series(1, 5) AS g;
        """;

    /// <summary>The database after the bad cleanup, with fingerprints taken before and after it.</summary>
    private sealed record Situation(string Url, string Name, string Original, string OriginalDeleted, string DamagedUpdated, string DamagedNew, string DamagedAll);

    private static Task<string> Checksum(string database, string where = "true") =>
        PgTestServer.TableChecksumAsync(database, Customers, "t.id", where);

    /// <summary>Creates the customers, backs them up, then does the bad cleanup.</summary>
    private static async Task<Situation> BadCleanupAsync(PgSandbox sandbox)
    {
        var url = await sandbox.NewDatabaseAsync(CustomersSql);
        var name = PgTestServer.DatabaseName(url);
        var original = await Checksum(name);
        var originalDeleted = await Checksum(name, "id % 10 = 0");
        await sandbox.BackupAsync(url);
        await PgTestServer.ExecuteAsync(name, BadCleanupSql);
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM public.customers")).ShouldBe(1805);
        return new Situation(url, name, original, originalDeleted,
            await Checksum(name, "id % 20 = 1"), await Checksum(name, "id > 2000"), await Checksum(name));
    }

    /// <summary>The id of a sample key, which reads "id=123".</summary>
    private static int KeyOf(string key)
    {
        key.ShouldStartWith("id=");
        return int.Parse(key.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void ShouldCount(JsonElement table, long insert, long update, long unchanged, long delete)
    {
        table.Long("insert").ShouldBe(insert, table.ToString());
        table.Long("update").ShouldBe(update, table.ToString());
        table.Long("unchanged").ShouldBe(unchanged, table.ToString());
        table.Long("delete").ShouldBe(delete, table.ToString());
    }

    [Fact]
    public async Task A_dry_run_counts_200_to_insert_100_to_update_1700_unchanged_and_writes_nothing()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);
        var sequenceBefore = await PgTestServer.PsqlAsync(s.Name, "SELECT last_value, is_called FROM public.customers_id_seq");

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--to", s.Url, "--dry-run");
        table.GetProperty("table").GetString().ShouldBe(Customers);
        table.GetProperty("target").GetString().ShouldBe(Customers);
        table.Long("snapshot_rows").ShouldBe(2000);
        ShouldCount(table, insert: 200, update: 100, unchanged: 1700, delete: 0);
        table.Bool("applied").ShouldBeFalse();
        table.Strings("sample_insert").ShouldNotBeEmpty();
        table.Strings("sample_insert").Select(KeyOf).ShouldAllBe(id => id % 10 == 0);
        table.Strings("sample_update").Select(KeyOf).ShouldAllBe(id => id % 20 == 1);
        table.Strings("sample_delete").ShouldBeEmpty();

        // In replace mode the five rows the snapshot never had would go.
        var replace = await sandbox.RunAsync("restore", "latest", "--table", Customers, "--to", s.Url, "--dry-run", "--mode", "replace", "--json");
        replace.ShouldSucceed();
        using (var json = replace.Json())
        {
            json.RootElement.GetProperty("dry_run").GetBoolean().ShouldBeTrue();
            json.RootElement.GetProperty("mode").GetString().ShouldBe("replace");
            var t = json.RootElement.GetProperty("tables")[0];
            ShouldCount(t, insert: 200, update: 100, unchanged: 1700, delete: 5);
            t.Strings("sample_delete").Select(KeyOf).ShouldAllBe(id => id > 2000);
        }

        // The text form says the same, and that nothing was written.
        var text = await sandbox.RunAsync("restore", "latest", "--table", Customers, "--to", s.Url, "--dry-run", "--mode", "upsert");
        text.ShouldSucceed();
        text.Out.ShouldContain("2,000 rows in the snapshot; 200 to insert, 100 to update, 1,700 unchanged");
        text.Out.ShouldContain("nothing was written");

        (await Checksum(s.Name)).ShouldBe(s.DamagedAll);
        (await PgTestServer.PsqlAsync(s.Name, "SELECT last_value, is_called FROM public.customers_id_seq")).ShouldBe(sequenceBefore);
    }

    [Fact]
    public async Task Insert_missing_brings_back_the_deleted_rows_and_leaves_edited_and_new_rows_as_they_are()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--to", s.Url, "--yes");
        ShouldCount(table, insert: 200, update: 100, unchanged: 1700, delete: 0);
        table.Bool("applied").ShouldBeTrue();
        table.Bool("verified").ShouldBeTrue();

        (await PgTestServer.ScalarAsync<long>(s.Name, "SELECT count(*) FROM public.customers")).ShouldBe(2005);
        (await Checksum(s.Name, "id % 10 = 0")).ShouldBe(s.OriginalDeleted);
        (await Checksum(s.Name, "id % 20 = 1")).ShouldBe(s.DamagedUpdated);
        (await Checksum(s.Name, "id > 2000")).ShouldBe(s.DamagedNew);

        // Running it again finds nothing missing.
        var (_, again) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--to", s.Url, "--dry-run");
        ShouldCount(again, insert: 0, update: 100, unchanged: 1900, delete: 0);
    }

    [Fact]
    public async Task Upsert_brings_back_deleted_and_edited_rows_and_keeps_the_new_live_rows()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--to", s.Url, "--mode", "upsert", "--yes");
        ShouldCount(table, insert: 200, update: 100, unchanged: 1700, delete: 0);
        table.Bool("applied").ShouldBeTrue();
        table.Bool("verified").ShouldBeTrue();

        (await Checksum(s.Name, "id <= 2000")).ShouldBe(s.Original);
        (await Checksum(s.Name, "id > 2000")).ShouldBe(s.DamagedNew);
        (await PgTestServer.ScalarAsync<long>(s.Name, "SELECT count(*) FROM public.customers")).ShouldBe(2005);
    }

    [Fact]
    public async Task An_upsert_whose_rows_a_trigger_rewrites_fails_its_check_and_changes_nothing()
    {
        // The check after the merge reads back the rows it wrote: a trigger that rewrites them (here, every name it
        // sees written) leaves them unlike the snapshot's, and the restore says so and rolls back.
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);
        await PgTestServer.ExecuteAsync(s.Name, """
            CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;
            CREATE TRIGGER shout BEFORE INSERT OR UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION public.shout();
            """);

        var result = await sandbox.RunAsync("restore", "latest", "--table", Customers, "--to", s.Url, "--mode", "upsert", "--yes");

        result.ShouldFailWith(ExitCodes.DatabaseFailed);
        result.Error.ShouldContain("still differs from the snapshot (0 rows missing, 300 differing); nothing was changed");
        (await Checksum(s.Name)).ShouldBe(s.DamagedAll);
    }

    [Fact]
    public async Task Replace_makes_the_table_exactly_what_the_snapshot_holds()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--to", s.Url, "--mode", "replace", "--yes");
        ShouldCount(table, insert: 200, update: 100, unchanged: 1700, delete: 5);
        table.Bool("applied").ShouldBeTrue();
        table.Bool("verified").ShouldBeTrue();

        (await Checksum(s.Name)).ShouldBe(s.Original);
    }

    [Fact]
    public async Task Tables_named_child_first_are_restored_parent_first_so_foreign_keys_hold()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.parent (id serial PRIMARY KEY, name text NOT NULL);
            CREATE TABLE public.child (id serial PRIMARY KEY, parent_id integer NOT NULL REFERENCES public.parent (id), label text);
            INSERT INTO public.parent (name) SELECT 'parent ' || g FROM generate_series(1, 100) AS g;
            INSERT INTO public.child (parent_id, label) SELECT 1 + g % 100, 'child ' || g FROM generate_series(1, 500) AS g;
            """);
        var name = PgTestServer.DatabaseName(url);
        var parents = await PgTestServer.TableChecksumAsync(name, "public.parent", "t.id");
        var children = await PgTestServer.TableChecksumAsync(name, "public.child", "t.id");
        await sandbox.BackupAsync(url);
        await PgTestServer.ExecuteAsync(name, """
            DELETE FROM public.child WHERE parent_id % 10 = 0 OR id % 50 = 3;
            DELETE FROM public.parent WHERE id % 10 = 0;
            """);

        var result = await sandbox.RunAsync("restore", "latest", "--table", "public.child,public.parent", "--to", url, "--yes", "--json");
        result.ShouldSucceed();
        using (var json = result.Json())
        {
            var tables = json.RootElement.GetProperty("tables").EnumerateArray().ToList();
            tables.Select(t => t.GetProperty("table").GetString()).ShouldBe(["public.parent", "public.child"]);
            tables[0].Long("insert").ShouldBe(10);
            tables[1].Long("insert").ShouldBe(60); // 50 of deleted parents, 10 more with id % 50 = 3
            tables.ShouldAllBe(t => t.GetProperty("verified").GetBoolean());
        }
        (await PgTestServer.TableChecksumAsync(name, "public.parent", "t.id")).ShouldBe(parents);
        (await PgTestServer.TableChecksumAsync(name, "public.child", "t.id")).ShouldBe(children);
    }

    [Fact]
    public async Task After_a_restore_the_tables_serial_and_identity_sequences_are_past_the_largest_key()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(CustomersSql + """
            CREATE TABLE public.tickets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, subject text NOT NULL);
            INSERT INTO public.tickets (subject) SELECT 'ticket ' || g FROM generate_series(1, 300) AS g;
            """);
        var name = PgTestServer.DatabaseName(url);
        var original = await Checksum(name);
        await sandbox.BackupAsync(url);
        // The cleanup also reset the sequences: the next new row would collide with a restored one.
        await PgTestServer.ExecuteAsync(name, """
            TRUNCATE public.customers RESTART IDENTITY;
            DELETE FROM public.tickets WHERE id > 100;
            ALTER TABLE public.tickets ALTER COLUMN id RESTART WITH 50;
            """);

        var (_, customers) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--to", url, "--yes");
        customers.Long("insert").ShouldBe(2000);
        customers.Strings("adjustments").ShouldHaveSingleItem().ShouldContain("customers_id_seq");
        (await Checksum(name)).ShouldBe(original);
        (await PgTestServer.ScalarAsync<long>(name, "SELECT max(id) FROM public.customers")).ShouldBe(2000);
        (await PgTestServer.ScalarAsync<long>(name, "SELECT nextval('public.customers_id_seq')")).ShouldBeGreaterThan(2000);
        // A new row takes a fresh key instead of failing on a duplicate.
        await PgTestServer.ExecuteAsync(name, "INSERT INTO public.customers (name, balance, updated_at) VALUES ('after', 0, now())");

        var (_, tickets) = await sandbox.RestoreTableAsync("latest", "--table", "public.tickets", "--to", url, "--yes");
        tickets.Long("insert").ShouldBe(200);
        tickets.Strings("adjustments").ShouldNotBeEmpty();
        (await PgTestServer.ScalarAsync<long>(name, "INSERT INTO public.tickets (subject) VALUES ('after') RETURNING id")).ShouldBeGreaterThan(300);
    }

    [Fact]
    public async Task A_sequence_a_key_default_draws_from_moves_too_and_a_text_column_fed_by_one_is_left_alone()
    {
        // Not owned by the column (no serial, no identity): only the default names it.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync("""
            CREATE SEQUENCE public.item_ids;
            CREATE SEQUENCE public.item_codes;
            CREATE TABLE public.items (id bigint PRIMARY KEY DEFAULT nextval('public.item_ids'), code text DEFAULT 'c' || nextval('public.item_codes'), v text);
            INSERT INTO public.items (v) SELECT 'item ' || g FROM generate_series(1, 10) AS g;
            """);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url);
        await PgTestServer.ExecuteAsync(name, "DELETE FROM public.items WHERE id > 5; SELECT setval('public.item_ids', 5)");

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", "public.items", "--to", url, "--yes");

        table.Long("insert").ShouldBe(5);
        table.Strings("adjustments").ShouldHaveSingleItem().ShouldContain("item_ids");
        (await PgTestServer.ScalarAsync<long>(name, "INSERT INTO public.items (v) VALUES ('after') RETURNING id")).ShouldBe(11);
    }

    [Fact]
    public async Task A_restore_waits_for_a_session_writing_the_table_then_leaves_it_as_the_snapshot_holds()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);
        await using var writer = new Npgsql.NpgsqlConnection(PgTestServer.ConnectionString(s.Name));
        await writer.OpenAsync();
        await using var transaction = await writer.BeginTransactionAsync();
        await using (var edit = new Npgsql.NpgsqlCommand("UPDATE public.customers SET name = 'written meanwhile' WHERE id = 2", writer, transaction))
        {
            (await edit.ExecuteNonQueryAsync()).ShouldBe(1);
        }

        var restore = sandbox.RunAsync("restore", "latest", "--table", Customers, "--to", s.Url, "--mode", "upsert", "--yes");
        // The restore's session waits for the table's lock, before it reads a row.
        var waited = false;
        for (var i = 0; i < 600 && !waited && !restore.IsCompleted; i++)
        {
            waited = await PgTestServer.ScalarAsync<long>(s.Name,
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE ONLY %customers%'") == 1;
            await Task.Delay(50);
        }
        await transaction.CommitAsync();
        (await restore).ShouldSucceed();

        waited.ShouldBeTrue();
        // Customer 2 was written meanwhile and differs from the snapshot: the upsert, which compared after the write, mends it too.
        (await Checksum(s.Name, "id <= 2000")).ShouldBe(s.Original);
        (await Checksum(s.Name, "id > 2000")).ShouldBe(s.DamagedNew);
    }

    [Fact]
    public async Task A_table_named_twice_is_restored_once()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--table", "customers", "--to", s.Url, "--yes");

        ShouldCount(table, insert: 200, update: 100, unchanged: 1700, delete: 0);
    }

    [Fact]
    public async Task When_a_later_table_fails_the_error_names_the_tables_already_restored()
    {
        // Each table restores in a transaction of its own: the parent is committed before the child's filter fails.
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.parent (id integer PRIMARY KEY, region text NOT NULL);
            CREATE TABLE public.child (id integer PRIMARY KEY, parent_id integer NOT NULL REFERENCES public.parent (id));
            INSERT INTO public.parent SELECT g, CASE WHEN g % 2 = 0 THEN 'EU' ELSE 'US' END FROM generate_series(1, 10) AS g;
            INSERT INTO public.child SELECT g, 1 + g % 10 FROM generate_series(1, 20) AS g;
            """);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url);
        await PgTestServer.ExecuteAsync(name, "UPDATE public.parent SET region = 'EU' WHERE id = 1");

        var result = await sandbox.RunAsync("restore", "latest", "--table", "public.child,public.parent", "--to", url, "--mode", "upsert",
            "--where", "region = 'EU'", "--yes");

        result.ShouldFailWith(ExitCodes.InvalidFilter);
        result.Error.ShouldContain("The row filter for public.child is not a valid condition");
        result.Error.ShouldContain("public.parent was restored and committed before this failed");
        result.Error.ShouldContain("--where 'status = ''open'''");
        (await PgTestServer.ScalarAsync<string>(name, "SELECT region FROM public.parent WHERE id = 1")).ShouldBe("EU"); // id 1 is US in the snapshot: outside the filter
    }


    [Fact]
    public async Task Into_restores_the_snapshots_rows_into_another_table_created_like_the_original()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);
        await PgTestServer.ExecuteAsync(s.Name, "CREATE TABLE public.customers_recovered (LIKE public.customers INCLUDING ALL)");

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--into", "public.customers_recovered", "--to", s.Url, "--yes");
        table.GetProperty("table").GetString().ShouldBe(Customers);
        table.GetProperty("target").GetString().ShouldBe("public.customers_recovered");
        ShouldCount(table, insert: 2000, update: 0, unchanged: 0, delete: 0);
        table.Bool("verified").ShouldBeTrue();

        (await PgTestServer.TableChecksumAsync(s.Name, "public.customers_recovered", "t.id")).ShouldBe(s.Original);
        (await Checksum(s.Name)).ShouldBe(s.DamagedAll); // the original table is left alone
    }

    [Fact]
    public async Task Where_restores_only_the_matching_rows_and_replace_deletes_only_within_the_filter()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var s = await BadCleanupAsync(sandbox);
        var copy = PgTestServer.DatabaseName(await sandbox.CopyDatabaseAsync(s.Url));
        // The same 2,000 customers, never damaged: generate_series makes them alike.
        var pristine = PgTestServer.DatabaseName(await sandbox.NewDatabaseAsync(CustomersSql));

        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--to", s.Url, "--where", "id <= 100", "--yes");
        table.Long("snapshot_rows").ShouldBe(100);
        ShouldCount(table, insert: 10, update: 5, unchanged: 85, delete: 0);
        (await Checksum(s.Name, "id % 10 = 0")).ShouldBe(await Checksum(pristine, "id % 10 = 0 AND id <= 100"));
        (await Checksum(s.Name, "id % 20 = 1")).ShouldBe(s.DamagedUpdated);
        (await Checksum(s.Name, "id > 100")).ShouldBe(await Checksum(copy, "id > 100"));

        // Replace within "id > 1990": the five new rows go, customer 2000 comes back, the rest is not touched.
        var outside = await Checksum(copy, "id <= 1990");
        var (_, replace) = await sandbox.RestoreTableAsync("latest", "--table", Customers, "--to", PgTestServer.Url(copy),
            "--where", "id > 1990", "--mode", "replace", "--yes");
        replace.Long("snapshot_rows").ShouldBe(10);
        ShouldCount(replace, insert: 1, update: 0, unchanged: 9, delete: 5);
        (await Checksum(copy, "id > 1990")).ShouldBe(await Checksum(pristine, "id > 1990"));
        (await Checksum(copy, "id <= 1990")).ShouldBe(outside);
    }

    [Fact]
    public async Task A_table_without_a_primary_key_cannot_be_merged_but_can_be_replaced()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.events (at timestamptz NOT NULL, kind text NOT NULL, payload jsonb);
            INSERT INTO public.events SELECT '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second', 'kind ' || g % 4, jsonb_build_object('n', g)
                FROM generate_series(1, 300) AS g;
            INSERT INTO public.events SELECT at, kind, payload FROM public.events WHERE kind = 'kind 1' LIMIT 3; -- exact duplicates
            """);
        var name = PgTestServer.DatabaseName(url);
        Task<string> Events() => PgTestServer.TableChecksumAsync(name, "public.events", "t.at, t.kind, t.payload::text");
        var original = await Events();
        var backup = await sandbox.RunAsync("backup", url);
        backup.ShouldSucceed();
        backup.Error.ShouldContain("public.events has no primary key");
        await PgTestServer.ExecuteAsync(name, """
            DELETE FROM public.events WHERE kind = 'kind 2';
            INSERT INTO public.events VALUES (now(), 'stray', NULL), (now(), 'stray', '{}');
            """);
        var damaged = await Events();

        (await sandbox.RunAsync("restore", "latest", "--table", "public.events", "--to", url, "--yes")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("restore", "latest", "--table", "public.events", "--to", url, "--mode", "upsert", "--yes")).ShouldFailWith(ExitCodes.Usage);
        (await Events()).ShouldBe(damaged);

        var (_, dryRun) = await sandbox.RestoreTableAsync("latest", "--table", "public.events", "--to", url, "--mode", "replace", "--dry-run");
        dryRun.Long("snapshot_rows").ShouldBe(303);
        dryRun.Long("insert").ShouldBe(303);
        dryRun.Long("delete").ShouldBe(303 - 75 + 2);
        (await Events()).ShouldBe(damaged);

        var (_, replace) = await sandbox.RestoreTableAsync("latest", "--table", "public.events", "--to", url, "--mode", "replace", "--yes");
        replace.Bool("applied").ShouldBeTrue();
        replace.Bool("verified").ShouldBeTrue();
        (await Events()).ShouldBe(original);
    }
}
