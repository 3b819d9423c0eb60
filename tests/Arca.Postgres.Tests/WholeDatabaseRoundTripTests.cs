using Arca.Cli;
using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// A whole database survives backup and restore exactly: pg_dump of the restored copy is byte-identical to
/// pg_dump of the original (schema, every value of every common type, sequences, views, functions, triggers,
/// comments, indexes, constraints), and the restore reports every table verified against the snapshot's
/// row count and checksum.
/// </summary>
public sealed class WholeDatabaseRoundTripTests
{
    /// <summary>
    /// A table with a column of each common type and rows holding their extremes: integer limits, numeric at
    /// full precision and NaN, floats' NaN, infinities and -0, text with every Unicode code point (PostgreSQL
    /// text cannot hold NUL), all 256 byte values, infinite dates and timestamps, nested arrays with NULLs,
    /// an enum, a domain, a composite, ranges, network types, bit strings, a tsvector, an identity column
    /// (GENERATED ALWAYS) and a stored generated column.
    /// </summary>
    internal const string EveryTypeSql = """
        CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
        CREATE DOMAIN public.positive_int AS integer CHECK (VALUE > 0);
        CREATE TYPE public.labelled_point AS (x double precision, y double precision, label text);
        CREATE TABLE public.every_type (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            i2 smallint, i4 integer, i8 bigint,
            num numeric, num_scaled numeric(12,4),
            f4 real, f8 double precision,
            txt text, vc varchar(40), ch char(6),
            bin bytea, flag boolean,
            d date, t time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
            u uuid, j json, jb jsonb, ints integer[], texts text[][],
            m public.mood, p public.positive_int, lp public.labelled_point,
            r4 int4range, rtz tstzrange,
            ip inet, net cidr, mac macaddr,
            b8 bit(8), vb varbit,
            tsv tsvector,
            txt_length integer GENERATED ALWAYS AS (length(txt)) STORED
        );
        INSERT INTO public.every_type (i2, i4, i8, num, num_scaled, f4, f8, txt, vc, ch, bin, flag, d, t, ttz, ts, tstz, iv, u, j, jb, ints, texts,
            m, p, lp, r4, rtz, ip, net, mac, b8, vb, tsv) VALUES
        (-32768, -2147483648, -9223372036854775808,
         123456789012345678901234567890.123456789012345678901234567890, -99999999.9999,
         'NaN', 'NaN',
         E'tab\there, newline\nthere, CR\r, backslash \\ and \\N, quote '' and " — emoji 🎉👩‍👩‍👧, RTL עברית العربية, combining e\u0301 Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇, CJK 漢字, BOM \uFEFF, zero-width \u200B, astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
         'väriable', 'ab',
         (SELECT string_agg(set_byte('\x00'::bytea, 0, b), ''::bytea ORDER BY b) FROM generate_series(0, 255) AS b),
         true, '-infinity', '00:00:00', '00:00:00+14', '-infinity', '-infinity', '-178000000 years',
         '00000000-0000-0000-0000-000000000000', '{"spaces" :  [1, 2.50, "x"], "dup": 1, "dup": 2}', '{"nested": {"a": [1, null, true, "é\n"]}, "n": 1.000}',
         '{1,NULL,3}', '{{a,NULL},{"with space","with,comma"}}',
         'sad', 1, ROW(-0.0, 'NaN', 'a "label", with (parens)'),
         '[1,10)', '[2024-01-01 00:00:00+00,infinity)',
         '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
         B'00000000', B'', 'a fat cat sat on a mat'),
        (32767, 2147483647, 9223372036854775807,
         'NaN', 99999999.9999,
         'Infinity', 'Infinity',
         (SELECT string_agg(chr(c), '' ORDER BY c) FROM generate_series(1, 1114111) AS c WHERE c NOT BETWEEN 55296 AND 57343),
         '', '', '', false, 'infinity', '24:00:00', '23:59:59.999999-15:59', 'infinity', 'infinity', '178000000 years 11 months 30 days 23:59:59.999999',
         'ffffffff-ffff-ffff-ffff-ffffffffffff', '[]', '{}', '{}', '{}',
         'happy', 2147483647, ROW('Infinity', '-Infinity', ''),
         'empty', '(,)',
         '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',
         B'11111111', B'1010101010101', ''),
        (0, 0, 0, '-0.000000000000000000001', 0,
         '-Infinity', '-Infinity',
         '', 'x', 'x', '\x'::bytea, NULL, '4713-01-01 BC', '12:34:56.789', '12:34:56.789+05:30', '2000-02-29 12:00:00.000001', '1970-01-01 00:00:00+00', '-1 day +02:03:04.5',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'null', 'null', '{NULL}', '{{NULL}}',
         'ok', NULL, ROW(NULL, NULL, NULL),
         '(,5]', '["2024-06-01 12:00:00+02","2024-06-02 00:00:00+00"]',
         '0.0.0.0/0', '0.0.0.0/0', '00:00:00:00:00:00',
         B'10000001', B'1', 'it''s a ''quoted'' lexeme:1A,2B'),
        (-1, -1, -1, '1e-1000', '0.0001', '-0', '-0',
         E'back\\slash\\N\\\\', NULL, NULL, '\xdeadbeef', true, '2024-02-29', NULL, NULL, NULL, NULL, '1 year 2 mons 3 days 04:05:06.789',
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (NULL, NULL, NULL, NULL, NULL, 1.17549435e-38, 2.2250738585072014e-308, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        """;

    /// <summary>What a database holds besides tables, over pgbench's tables and every_type.</summary>
    private const string OtherObjectsSql = """
        CREATE TABLE public.audit_log (
            id bigserial PRIMARY KEY,
            every_type_id integer NOT NULL REFERENCES public.every_type (id),
            note text NOT NULL,
            at timestamptz NOT NULL DEFAULT now());
        CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := upper(NEW.note); RETURN NEW; END $$;
        CREATE TRIGGER audit_log_shout BEFORE INSERT OR UPDATE ON public.audit_log FOR EACH ROW EXECUTE FUNCTION public.shout();
        INSERT INTO public.audit_log (every_type_id, note, at)
            SELECT 1 + g % 5, 'note ' || g, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 50) AS g;
        CREATE INDEX audit_log_note ON public.audit_log (lower(note)) WHERE every_type_id > 1;
        COMMENT ON TABLE public.audit_log IS 'Who did what; notes are shouted by a trigger.';
        COMMENT ON COLUMN public.every_type.txt IS 'Text with all of Unicode';
        CREATE SEQUENCE public.invoice_numbers START WITH 1000 INCREMENT BY 7;
        SELECT nextval('public.invoice_numbers') FROM generate_series(1, 3);
        CREATE SEQUENCE public.unused_numbers;
        CREATE VIEW public.branch_balances AS SELECT bid, sum(abalance) AS balance, count(*) AS accounts FROM public.pgbench_accounts GROUP BY bid;
        CREATE MATERIALIZED VIEW public.account_counts AS SELECT bid, count(*) AS accounts FROM public.pgbench_accounts GROUP BY bid;
        CREATE MATERIALIZED VIEW public.never_refreshed AS SELECT aid FROM public.pgbench_accounts WHERE aid < 10 WITH NO DATA;
        CREATE FUNCTION public.account_balance(account integer) RETURNS integer LANGUAGE sql STABLE
            AS $$ SELECT abalance FROM public.pgbench_accounts WHERE aid = account $$;
        """;

    [Fact]
    public async Task A_pgbench_scale_20_database_with_every_common_type_restores_byte_identical_through_the_built_program()
    {
        await using var sandbox = await PgSandbox.CreateAsync(binary: true);
        var source = await sandbox.NewDatabaseAsync();
        var sourceName = PgTestServer.DatabaseName(source);
        await PgTestServer.RunPgbenchInitAsync(sourceName, scale: 20);
        await PgTestServer.ExecuteAsync(sourceName, EveryTypeSql);
        await PgTestServer.ExecuteAsync(sourceName, OtherObjectsSql);
        var expectedTables = new Dictionary<string, long>
        {
            ["public.audit_log"] = 50,
            ["public.every_type"] = 5,
            ["public.pgbench_accounts"] = 2_000_000,
            ["public.pgbench_branches"] = 20,
            ["public.pgbench_history"] = 0,
            ["public.pgbench_tellers"] = 200,
        };

        var backup = await sandbox.RunAsync(true, "backup", source, "--json");
        backup.ShouldSucceed();
        // pgbench_history has no primary key: a warning, not a failure.
        backup.ErrorLines.ShouldContain(line => line.StartsWith("arca: warning: ", StringComparison.Ordinal) && line.Contains("public.pgbench_history", StringComparison.Ordinal)
            && line.Contains("no primary key", StringComparison.Ordinal), backup.ToString());
        using (var json = backup.Json())
        {
            var database = json.RootElement.GetProperty("databases").EnumerateArray().Single();
            database.GetProperty("tables").GetInt32().ShouldBe(expectedTables.Count);
            database.GetProperty("rows").GetInt64().ShouldBe(expectedTables.Values.Sum());
            database.GetProperty("bytes").GetInt64().ShouldBeGreaterThan(4_000_000); // every_type's text alone is over 4 MB
        }
        (await sandbox.ListTablesAsync(sourceName)).ShouldBe(expectedTables, ignoreOrder: true);
        (await sandbox.RunAsync("ls", "latest", sourceName, "--json")).ShouldSucceed();

        var target = await sandbox.NewDatabaseAsync();
        var restore = await sandbox.RunAsync(true, "restore", "latest", "--database", sourceName, "--to", target, "--json");
        restore.ShouldSucceed();
        using (var json = restore.Json())
        {
            var root = json.RootElement;
            root.GetProperty("verified").GetBoolean().ShouldBeTrue(restore.ToString());
            root.GetProperty("sequences").GetInt32().ShouldBe(4); // every_type's identity, audit_log's bigserial, invoice_numbers, unused_numbers
            var tables = root.GetProperty("tables").EnumerateArray().ToList();
            tables.Select(t => t.GetProperty("table").GetString()).ShouldBe(expectedTables.Keys, ignoreOrder: true);
            foreach (var table in tables)
            {
                var name = table.GetProperty("table").GetString()!;
                table.GetProperty("checksum_matches").GetBoolean().ShouldBeTrue(name);
                table.GetProperty("rows").GetInt64().ShouldBe(expectedTables[name], name);
                table.GetProperty("rows_restored").GetInt64().ShouldBe(expectedTables[name], name);
            }
        }

        var original = await PgTestServer.PgDumpAsync(sourceName);
        var restored = await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(target));
        original.ShouldContain("CREATE TRIGGER audit_log_shout");
        original.ShouldContain("REFRESH MATERIALIZED VIEW public.account_counts;");
        AssertSameDump(original, restored);

        // The restored database is usable, not only equal: the identity and the sequences continue where they were.
        (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(target), "SELECT nextval('public.invoice_numbers')")).ShouldBe(1021);
        (await PgTestServer.ScalarAsync<int>(PgTestServer.DatabaseName(target),
            "INSERT INTO public.every_type (txt) VALUES ('new') RETURNING id")).ShouldBe(6);
    }

    [Fact]
    public async Task Rows_each_larger_than_a_load_chunk_restore_byte_identical()
    {
        // The load hands rows to COPY in chunks of about 1 MiB, each ending at a row's end. A row of 2.5 MB grows the
        // buffer to 4 MiB, and what follows the row's end (1.5 MiB) starts the next chunk: it must fit there. (Before,
        // it was copied into a 1 MiB buffer whenever the pool had none larger to give: the round trip of the every-type
        // table failed now and then with "The COPY operation has already ended", which hid that error.)
        await using var sandbox = await PgSandbox.CreateAsync();
        var source = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.documents (id integer PRIMARY KEY, body text NOT NULL);
            INSERT INTO public.documents SELECT g, repeat(md5(g::text), 80000) FROM generate_series(1, 6) AS g;
            """);
        var name = PgTestServer.DatabaseName(source);
        await sandbox.BackupAsync(source);
        foreach (var options in new[] { Array.Empty<string>(), ["--no-verify"] })
        {
            var target = await sandbox.NewDatabaseAsync();
            (await sandbox.RunAsync(["restore", "latest", "--database", name, "--to", target, .. options])).ShouldSucceed();
            (await PgTestServer.TableChecksumAsync(PgTestServer.DatabaseName(target), "public.documents", "t.id"))
                .ShouldBe(await PgTestServer.TableChecksumAsync(name, "public.documents", "t.id"));
        }
    }

    [Fact]
    public async Task A_table_without_a_key_that_the_load_lays_out_in_another_order_still_verifies()
    {
        // Rows of very different sizes: loading them, the server puts later small rows into space left on earlier
        // pages, so the restored table's physical order (the order a keyless table is read in) is not the
        // snapshot's. The restore must still prove the rows equal, as a multiset, rather than report a mismatch.
        await using var sandbox = await PgSandbox.CreateAsync();
        var source = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.events (n integer, body text);
            INSERT INTO public.events SELECT g, repeat('x', ((g::bigint * 7919) % 600)::int) FROM generate_series(1, 100000) AS g;
            """);
        await sandbox.BackupAsync(source);
        var target = await sandbox.NewDatabaseAsync();
        var restore = await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(source), "--to", target, "--json");
        restore.ShouldSucceed();
        var targetName = PgTestServer.DatabaseName(target);
        (await PgTestServer.ScalarAsync<long>(targetName,
            "SELECT count(*) FROM (SELECT n, row_number() OVER () AS r FROM public.events) AS x WHERE n <> r")).ShouldBeGreaterThan(0,
            "the load kept the rows in order, so this test no longer shows what it is for");
        using (var json = restore.Json())
        {
            json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue(restore.ToString());
            json.RootElement.GetProperty("read_back").GetBoolean().ShouldBeTrue(restore.ToString());
        }
        (await PgTestServer.TableChecksumAsync(targetName, "public.events", "n")).ShouldBe(
            await PgTestServer.TableChecksumAsync(PgTestServer.DatabaseName(source), "public.events", "n"));

        // --no-verify skips the read-back (the rows were still checked against the snapshot's checksum as they loaded),
        // and says so.
        var unverified = await sandbox.NewDatabaseAsync();
        var quick = await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(source), "--to", unverified, "--no-verify", "--json");
        quick.ShouldSucceed();
        using (var json = quick.Json())
        {
            json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue(quick.ToString());
            json.RootElement.GetProperty("read_back").GetBoolean().ShouldBeFalse(quick.ToString());
            json.RootElement.GetProperty("tables").EnumerateArray().Single().GetProperty("rows_restored").GetInt64().ShouldBe(100000);
        }
        (await PgTestServer.TableChecksumAsync(PgTestServer.DatabaseName(unverified), "public.events", "n")).ShouldBe(
            await PgTestServer.TableChecksumAsync(PgTestServer.DatabaseName(source), "public.events", "n"));
        var said = await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(source), "--to", await sandbox.NewDatabaseAsync(), "--no-verify");
        said.ShouldSucceed();
        said.Out.ShouldContain("not read back: --no-verify");
    }

    [Fact]
    public async Task Tables_with_forced_row_level_security_restore_and_verify_for_their_owner_who_is_no_superuser()
    {
        // A table's owner is subject to its policies under FORCE ROW LEVEL SECURITY (pre-data), once the post-data section
        // turns row-level security on and adds them. A restore by that owner must check every table before that, or the
        // check would see some rows (or, with row_security off, fail); pg_dump of the copy must equal the source's.
        var sandbox = await PgSandbox.CreateAsync();
        var owner = "arca_owner_" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await PgTestServer.ExecuteAsync("postgres", $"CREATE ROLE {owner} LOGIN PASSWORD 'owner-password'");
            var tables = string.Concat(Enumerable.Range(1, 6).Select(n => $"""
                CREATE TABLE public.tenant_rows_{n} (id integer PRIMARY KEY, tenant text NOT NULL, body text);
                INSERT INTO public.tenant_rows_{n} SELECT g, 'tenant ' || (g % 3), repeat('x', 50) FROM generate_series(1, {n * 20000}) AS g;
                ALTER TABLE public.tenant_rows_{n} OWNER TO {owner};
                ALTER TABLE public.tenant_rows_{n} ENABLE ROW LEVEL SECURITY;
                ALTER TABLE public.tenant_rows_{n} FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_1_only ON public.tenant_rows_{n} USING (tenant = 'tenant 1');
                """));
            // The schema is the owner's in both, as it must be in the target for the owner to create tables there.
            var source = await sandbox.NewDatabaseAsync($"ALTER SCHEMA public OWNER TO {owner};" + tables);
            var sourceName = PgTestServer.DatabaseName(source);
            await sandbox.BackupAsync(source);
            var target = await sandbox.NewDatabaseAsync($"ALTER SCHEMA public OWNER TO {owner};");
            await PgTestServer.ExecuteAsync("postgres", $"ALTER DATABASE {PgTestServer.DatabaseName(target)} OWNER TO {owner}");
            var asOwner = target.Replace($"{PgTestServer.User}:{PgTestServer.Password}@", $"{owner}:owner-password@", StringComparison.Ordinal);

            var restore = await sandbox.RunAsync("restore", "latest", "--database", sourceName, "--to", asOwner, "--json");

            restore.ShouldSucceed();
            using (var json = restore.Json())
            {
                json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue(restore.ToString());
            }
            var targetName = PgTestServer.DatabaseName(target);
            (await PgTestServer.PgDumpAsync(targetName)).ShouldBe(await PgTestServer.PgDumpAsync(sourceName));
        }
        finally
        {
            await sandbox.DisposeAsync();
            await PgTestServer.ExecuteAsync("postgres", $"DROP ROLE IF EXISTS {owner}");
        }
    }

    [Fact]
    public async Task A_database_of_many_small_tables_restores_over_a_few_connections_reused()
    {
        // Each table's index builds and its check want a connection for a moment; opening one each (a server process's
        // start) would cost more than the work for small tables. The server counts the sessions opened on the target.
        await using var sandbox = await PgSandbox.CreateAsync();
        var source = await sandbox.NewDatabaseAsync(string.Concat(Enumerable.Range(1, 40).Select(n => $"""
            CREATE TABLE public.small_{n} (id integer PRIMARY KEY, v text);
            CREATE INDEX small_{n}_v ON public.small_{n} (v);
            INSERT INTO public.small_{n} SELECT g, 'row ' || g FROM generate_series(1, 10) AS g;
            """)));
        await sandbox.BackupAsync(source);
        var target = await sandbox.NewDatabaseAsync();
        var targetName = PgTestServer.DatabaseName(target);
        var before = await PgTestServer.ScalarAsync<long>("postgres", $"SELECT sessions FROM pg_stat_database WHERE datname = '{targetName}'");

        var restore = await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(source), "--to", target, "--json");

        restore.ShouldSucceed();
        using (var json = restore.Json())
        {
            json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue(restore.ToString());
            json.RootElement.GetProperty("tables").GetArrayLength().ShouldBe(40);
        }
        // Sessions are counted as they end: the restore's have ended, and their server processes report them as they exit.
        var opened = 0L;
        for (var i = 0; i < 50; i++)
        {
            await Task.Delay(100);
            var now = await PgTestServer.ScalarAsync<long>("postgres", $"SELECT sessions FROM pg_stat_database WHERE datname = '{targetName}'") - before;
            if (now == opened && now > 0)
            {
                break; // the same twice in a row: all reported
            }
            opened = now;
        }
        // The check, psql twice, the loads' two, two for index builds, two for checks, the sequences': about ten, not 80.
        opened.ShouldBeInRange(3, 16);
    }

    [Fact]
    public async Task A_table_of_no_columns_restores_whole_both_ways_and_by_table()
    {
        // CREATE TABLE t () is legal, and its rows count: COPY writes each as an empty line, and takes no column list.
        await using var sandbox = await PgSandbox.CreateAsync();
        var source = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.no_columns ();
            INSERT INTO public.no_columns SELECT FROM generate_series(1, 3);
            CREATE TABLE public.beside (id integer PRIMARY KEY);
            INSERT INTO public.beside VALUES (1), (2);
            """);
        var sourceName = PgTestServer.DatabaseName(source);
        await sandbox.BackupAsync(source);
        foreach (var options in new[] { Array.Empty<string>(), ["--no-verify"] })
        {
            var target = await sandbox.NewDatabaseAsync();
            var restore = await sandbox.RunAsync(["restore", "latest", "--database", sourceName, "--to", target, "--json", .. options]);
            restore.ShouldSucceed();
            using (var json = restore.Json())
            {
                json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue(restore.ToString());
            }
            (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(target), "SELECT count(*) FROM public.no_columns")).ShouldBe(3);
            (await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(target))).ShouldBe(await PgTestServer.PgDumpAsync(sourceName));
        }

        // A table restore of it: with no key, only --mode replace applies, and it makes the live table the snapshot's 3 rows.
        var live = await sandbox.NewDatabaseAsync("CREATE TABLE public.no_columns (); INSERT INTO public.no_columns SELECT FROM generate_series(1, 5);");
        var replace = await sandbox.RunAsync("restore", "latest", "--table", "public.no_columns", "--to", live, "--mode", "replace", "--yes");
        replace.ShouldSucceed();
        (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(live), "SELECT count(*) FROM public.no_columns")).ShouldBe(3, replace.ToString());
    }

    [Fact]
    public async Task With_split_tables_a_large_table_loads_over_two_connections_and_lands_whole_or_not_at_all()
    {
        // With --split-tables, a table of 32 MiB of rows or more is loaded by a second connection too, once that one has no
        // table left: two server processes parse its rows. Each connection's COPY is a transaction of its own, so the rows
        // carry two transaction ids, and lie in another physical order. Without it, one frozen COPY keeps the order.
        // The table's CHECK reads a setting that the last target sets: there the server refuses the last rows, on
        // whichever connection they went, and no rows may land from either.
        await using var sandbox = await PgSandbox.CreateAsync();
        var source = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.big (id integer PRIMARY KEY,
                body text NOT NULL CHECK (id < coalesce(nullif(current_setting('arca_test.id_limit', true), '')::integer, 2147483647)));
            INSERT INTO public.big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 400000) AS g;
            CREATE TABLE public.small (id integer PRIMARY KEY);
            INSERT INTO public.small VALUES (1), (2), (3);
            """);
        var sourceName = PgTestServer.DatabaseName(source);
        await sandbox.BackupAsync(source);
        var original = await PgTestServer.PgDumpAsync(sourceName);

        foreach (var split in new[] { true, false })
        {
            var target = await sandbox.NewDatabaseAsync();
            var targetName = PgTestServer.DatabaseName(target);
            var restore = await sandbox.RunAsync(["restore", "latest", "--database", sourceName, "--to", target, "--jobs", "2", "--json", .. split ? new[] { "--split-tables" } : []]);
            restore.ShouldSucceed();
            using (var json = restore.Json())
            {
                json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue(restore.ToString());
            }
            (await PgTestServer.ScalarAsync<long>(targetName, "SELECT count(DISTINCT xmin::text) FROM public.big")).ShouldBe(split ? 2 : 1,
                $"--split-tables {split}: the number of connections that loaded the large table");
            var restored = await PgTestServer.PgDumpAsync(targetName);
            if (split)
            {
                // The same lines (schema and rows), the rows in another order.
                restored.ShouldNotBe(original);
                restored.Split('\n').Order(StringComparer.Ordinal).ShouldBe(original.Split('\n').Order(StringComparer.Ordinal));
            }
            else
            {
                restored.ShouldBe(original);
            }
        }

        var refusing = await sandbox.NewDatabaseAsync();
        var refusingName = PgTestServer.DatabaseName(refusing);
        await PgTestServer.ExecuteAsync("postgres", $"ALTER DATABASE {refusingName} SET arca_test.id_limit = '399000'");
        var failed = await sandbox.RunAsync("restore", "latest", "--database", sourceName, "--to", refusing, "--jobs", "2", "--split-tables");
        failed.ShouldFailWith(ExitCodes.DatabaseFailed);
        failed.Error.ShouldContain("The rows of public.big did not load: new row for relation \"big\" violates check constraint", Case.Sensitive, failed.ToString());
        failed.Error.ShouldContain("holds part of the restore", Case.Sensitive, failed.ToString());
        (await PgTestServer.ScalarAsync<long>(refusingName, "SELECT count(*) FROM public.big")).ShouldBe(0, failed.ToString());

        // One of the two loading sessions ended by the server midway: the restore stops with the server's word for it
        // (no hang, no internal error), and again no rows land.
        var dropped = await sandbox.NewDatabaseAsync();
        var droppedName = PgTestServer.DatabaseName(dropped);
        var running = sandbox.RunAsync("restore", "latest", "--database", sourceName, "--to", dropped, "--jobs", "2", "--split-tables");
        var sessions = await LoadingSessionsAsync(droppedName, running, 2);
        sessions.Count.ShouldBe(2, "the restore ended before two sessions were seen loading the large table");
        await PgTestServer.ExecuteAsync("postgres", $"SELECT pg_terminate_backend({sessions[^1][0]})");
        var cut = await running;
        cut.ShouldFailWith(ExitCodes.DatabaseUnreachable);
        cut.Error.ShouldContain("holds part of the restore", Case.Sensitive, cut.ToString());
        (await PgTestServer.ScalarAsync<long>(droppedName, "SELECT count(*) FROM public.big")).ShouldBe(0, cut.ToString());

        // Ctrl-C while the rows load: exit 130, and the message says what stays (the schema) rather than that nothing does.
        var interrupted = await sandbox.NewDatabaseAsync();
        var interruptedName = PgTestServer.DatabaseName(interrupted);
        using var ctrlC = new CancellationTokenSource();
        var stopping = sandbox.Runner.RunAsync(ctrlC.Token, "restore", "latest", "--database", sourceName, "--to", interrupted, "--jobs", "2");
        await LoadingSessionsAsync(interruptedName, stopping, 1);
        await ctrlC.CancelAsync();
        var stopped = await stopping;
        stopped.ShouldFailWith(ExitCodes.Interrupted);
        stopped.Error.ShouldContain("Interrupted; the target database holds part of the restore", Case.Sensitive, stopped.ToString());
        (await PgTestServer.ScalarAsync<long>(interruptedName, "SELECT count(*) FROM public.big")).ShouldBe(0, stopped.ToString());

        // The server sessions of the restore into the database loading public.big, once as many as wanted are seen (or it ended).
        static async Task<List<string?[]>> LoadingSessionsAsync(string database, Task restore, int wanted)
        {
            var query = $"SELECT pid FROM pg_stat_activity WHERE datname = '{database}' AND query LIKE 'COPY \"public\".\"big\"%' ORDER BY pid";
            var sessions = new List<string?[]>();
            while (!restore.IsCompleted && sessions.Count < wanted)
            {
                await Task.Delay(5);
                sessions = await PgTestServer.RowsAsync("postgres", query);
            }
            return sessions;
        }
    }

    [Fact]
    public async Task A_database_with_a_short_statement_timeout_for_its_applications_backs_up_and_restores_whole()
    {
        // Production databases often carry a statement timeout for their applications. Arca's sessions set none, as
        // pg_dump's do: a COPY longer than the timeout (here 100,000 rows against 20 ms) must not be stopped midway.
        await using var sandbox = await PgSandbox.CreateAsync();
        var source = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.events (id integer PRIMARY KEY, body text NOT NULL);
            INSERT INTO public.events SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 100000) AS g;
            """);
        var sourceName = PgTestServer.DatabaseName(source);
        var target = await sandbox.NewDatabaseAsync();
        var targetName = PgTestServer.DatabaseName(target);
        foreach (var database in new[] { sourceName, targetName })
        {
            await PgTestServer.ExecuteAsync("postgres", $"ALTER DATABASE {database} SET statement_timeout = '20ms'");
        }
        (await PgTestServer.PsqlAsync(sourceName, "SHOW statement_timeout")).Trim().ShouldBe("20ms");

        await sandbox.BackupAsync(source);
        var restore = await sandbox.RunAsync("restore", "latest", "--database", sourceName, "--to", target, "--json");

        restore.ShouldSucceed();
        using (var json = restore.Json())
        {
            json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue(restore.ToString());
        }
        foreach (var database in new[] { sourceName, targetName })
        {
            await PgTestServer.ExecuteAsync("postgres", $"ALTER DATABASE {database} RESET statement_timeout"); // for the test's own reads
        }
        (await PgTestServer.TableChecksumAsync(targetName, "public.events", "t.id")).ShouldBe(
            await PgTestServer.TableChecksumAsync(sourceName, "public.events", "t.id"));
    }

    [Fact]
    public async Task Awkward_names_partitions_and_inheritance_restore_byte_identical()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var source = await sandbox.NewDatabaseAsync("""
            CREATE SCHEMA "Sales.EU";
            CREATE TABLE "Sales.EU"."Order Lines/2024" ("Line No" integer PRIMARY KEY, "Qty%" numeric, U&"tab\0009col" text, "select" text);
            INSERT INTO "Sales.EU"."Order Lines/2024" VALUES (1, 2.5, 'a', 'from'), (2, NULL, E'b\tc', NULL);
            CREATE TABLE public."MixedCase" ("ID" integer PRIMARY KEY, "Value" text);
            INSERT INTO public."MixedCase" VALUES (1, 'one');
            CREATE TABLE public.measurements (city text NOT NULL, logged date NOT NULL, temp real, PRIMARY KEY (city, logged)) PARTITION BY RANGE (logged);
            CREATE TABLE public.measurements_2023 PARTITION OF public.measurements FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
            CREATE TABLE public.measurements_2024 PARTITION OF public.measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            INSERT INTO public.measurements
                SELECT city, logged, temp FROM (SELECT 'city' || (g % 3) AS city, DATE '2023-06-01' + g AS logged, g / 3.0 AS temp FROM generate_series(1, 400) AS g) AS x
                ORDER BY city, logged;
            CREATE TABLE public.animals (id integer PRIMARY KEY, name text);
            CREATE TABLE public.dogs (good boolean) INHERITS (public.animals);
            ALTER TABLE public.dogs ADD PRIMARY KEY (id);
            INSERT INTO public.animals VALUES (1, 'cat');
            INSERT INTO public.dogs VALUES (2, 'rex', true);
            """);
        var sourceName = PgTestServer.DatabaseName(source);
        await sandbox.BackupAsync(source);
        (await sandbox.ListTablesAsync(sourceName)).ShouldBe(new Dictionary<string, long>
        {
            ["Sales.EU.Order Lines/2024"] = 2,
            ["public.MixedCase"] = 1,
            ["public.animals"] = 1, // its own rows only: the dog is in public.dogs
            ["public.dogs"] = 1,
            ["public.measurements_2023"] = 213,
            ["public.measurements_2024"] = 187,
        }, ignoreOrder: true);

        var target = await sandbox.NewDatabaseAsync();
        var restore = await sandbox.RunAsync("restore", "latest", "--database", sourceName, "--to", target);
        restore.ShouldSucceed();
        restore.Out.ShouldContain("verified: every table's row count and checksum match the snapshot");
        AssertSameDump(await PgTestServer.PgDumpAsync(sourceName), await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(target)));
    }

    /// <summary>Equal dumps; on a difference, the first differing line (a 24 MB dump is no assertion message).</summary>
    private static void AssertSameDump(string original, string restored)
    {
        if (string.Equals(original, restored, StringComparison.Ordinal))
        {
            return;
        }
        var a = original.Split('\n');
        var b = restored.Split('\n');
        var i = 0;
        while (i < a.Length && i < b.Length && string.Equals(a[i], b[i], StringComparison.Ordinal))
        {
            i++;
        }
        static string Cut(string[] lines, int index) => index < lines.Length ? lines[index][..Math.Min(300, lines[index].Length)] : "<end of dump>";
        throw new Xunit.Sdk.XunitException(
            $"pg_dump of the restored database differs from the original's at line {i + 1} (of {a.Length} and {b.Length}):\n" +
            $"original: {Cut(a, i)}\nrestored: {Cut(b, i)}");
    }
}
