using System.Diagnostics;
using Arca.Cli;
using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// Each mistake with a database gets its documented exit code and one short message (a sentence and a hint,
/// no stack trace), writes no snapshot, and leaves the live database exactly as it was: a wrong password, a
/// closed port, a missing database or table, a row filter (at backup or at restore) that does not parse or
/// that tries to write, however it tries, a table whose columns changed since the snapshot, a non-empty
/// target, a table restore without --yes, options that contradict each other. A backup killed midway leaves
/// no snapshot and a repository that checks clean.
/// </summary>
public sealed class PostgresBadInputTests
{
    private const string ShopSql = """
        CREATE TABLE public.t (id serial PRIMARY KEY, v numeric NOT NULL, note text);
        INSERT INTO public.t (v, note) SELECT g * 1.5, 'note ' || g FROM generate_series(1, 200) AS g;
        CREATE TABLE public.other (id integer PRIMARY KEY, name text);
        INSERT INTO public.other SELECT g, 'other ' || g FROM generate_series(1, 50) AS g;
        CREATE TABLE public.hits (at timestamptz NOT NULL DEFAULT now());
        CREATE FUNCTION public.count_a_hit() RETURNS boolean LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO public.hits DEFAULT VALUES; RETURN true; END $$;
        """;

    private static string WithPassword(string url, string password) =>
        url.Replace($"{PgTestServer.User}:{PgTestServer.Password}@", $"{PgTestServer.User}:{password}@", StringComparison.Ordinal);

    private static string WithDatabase(string url, string database) =>
        url[..(url.LastIndexOf('/') + 1)] + database;

    /// <summary>Runs a backup that must fail with <paramref name="exitCode"/>, and checks it left no snapshot and no change in the database.</summary>
    private static Task<CliResult> BackupFailsAsync(PgSandbox sandbox, string url, int exitCode, params string[] options) =>
        BackupFailsAsync(sandbox, builtProgram: false, url, exitCode, options);

    private static async Task<CliResult> BackupFailsAsync(PgSandbox sandbox, bool builtProgram, string url, int exitCode, params string[] options)
    {
        var database = PgTestServer.DatabaseName(url);
        var before = await DumpIfExistsAsync(database);
        var snapshots = await sandbox.SnapshotCountAsync();

        var result = await sandbox.RunAsync(builtProgram, ["backup", url, .. options]);
        result.ShouldFailWith(exitCode);

        (await sandbox.SnapshotCountAsync()).ShouldBe(snapshots, "a failed backup must not write a snapshot");
        (await DumpIfExistsAsync(database)).ShouldBe(before, "a failed backup must not change the database");
        return result;
    }

    private static async Task<string?> DumpIfExistsAsync(string database) =>
        await PgTestServer.ScalarAsync<bool>("postgres", $"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{database}')")
            ? await PgTestServer.PgDumpAsync(database)
            : null;

    [Fact]
    public async Task A_wrong_password_exits_31()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var result = await BackupFailsAsync(sandbox, WithPassword(url, "not-the-password"), ExitCodes.DatabaseLoginFailed);
        result.Error.ShouldNotContain("not-the-password");

        var target = await sandbox.NewDatabaseAsync();
        await sandbox.BackupAsync(url);
        (await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(url), "--to", WithPassword(target, "wrong")))
            .ShouldFailWith(ExitCodes.DatabaseLoginFailed);
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", WithPassword(url, "wrong"), "--dry-run"))
            .ShouldFailWith(ExitCodes.DatabaseLoginFailed);
    }

    [Fact]
    public async Task A_wrong_repository_password_exits_12_and_leaves_no_session_on_the_database_opened_meanwhile()
    {
        // The database is opened (snapshot exported, readers connected) while the repository opens: when the repository
        // refuses the password, that error is the one reported, and the database's sessions are ended (the command runs
        // in this process, so a session left open would still be there).
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var result = await sandbox.Runner.With("ARCA_PASSWORD", "not the repository's password").RunAsync("backup", url);
        result.ShouldFailWith(ExitCodes.WrongPassword);
        (await sandbox.SnapshotCountAsync()).ShouldBe(0);
        (await ServerActivity.ArcaSessionsLeftAsync(PgTestServer.DatabaseName(url))).ShouldBe(0);
    }

    [Fact]
    public async Task A_backup_with_more_readers_than_tables_ends_every_session_it_opened()
    {
        // The readers' connections open before the tables are known, one per --jobs: those no table needs are closed
        // when the backup ends (the command runs in this process, so a session left open would still be there).
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);

        await sandbox.BackupAsync(url, "--table", "public.t", "--jobs", "4");

        (await sandbox.ListTablesAsync(PgTestServer.DatabaseName(url))).Keys.ShouldBe(["public.t"]);
        (await ServerActivity.ArcaSessionsLeftAsync(PgTestServer.DatabaseName(url))).ShouldBe(0);
    }

    [Fact]
    public async Task A_schema_that_does_not_apply_exits_38_with_the_cause_and_leaves_the_target_empty_with_no_session()
    {
        // The snapshot's table belongs to a role the target's server no longer has: the pre-data section fails on its
        // owner. The loads' connections are opened while psql runs it; they must be closed again, and the section ran in
        // one transaction, so nothing of it stays.
        await using var sandbox = await PgSandbox.CreateAsync();
        var role = "arca_gone_" + Guid.NewGuid().ToString("N")[..8];
        await PgTestServer.ExecuteAsync("postgres", $"CREATE ROLE {role}");
        var source = await sandbox.NewDatabaseAsync($"""
            CREATE TABLE public.owned (id integer PRIMARY KEY, v text);
            INSERT INTO public.owned VALUES (1, 'one');
            CREATE TABLE public.other (id integer PRIMARY KEY);
            ALTER TABLE public.owned OWNER TO {role};
            """);
        var sourceName = PgTestServer.DatabaseName(source);
        await sandbox.BackupAsync(source);
        await PgTestServer.DropDatabaseAsync(sourceName);
        await PgTestServer.ExecuteAsync("postgres", $"DROP ROLE {role}");

        var target = await sandbox.NewDatabaseAsync();
        var result = await sandbox.RunAsync("restore", "latest", "--database", sourceName, "--to", target);

        result.ShouldFailWith(ExitCodes.DatabaseFailed);
        result.Error.ShouldContain("pre-data section did not apply");
        result.Error.ShouldContain(role);
        (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(target),
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")).ShouldBe(0);
        (await ServerActivity.ArcaSessionsLeftAsync(PgTestServer.DatabaseName(target))).ShouldBe(0);
    }

    [Fact]
    public async Task A_table_whose_rows_a_policy_hides_from_the_backup_user_fails_the_backup_instead_of_storing_some_rows()
    {
        // Row-level security filters what a role without BYPASSRLS reads, silently. A backup that got some of the rows
        // would look whole; with row_security off (as pg_dump sets it) the read fails, and the backup says why.
        await using var sandbox = await PgSandbox.CreateAsync();
        var role = "arca_reader_" + Guid.NewGuid().ToString("N")[..8];
        var url = await sandbox.NewDatabaseAsync($"""
            CREATE TABLE public.notes (id integer PRIMARY KEY, author text NOT NULL, body text);
            INSERT INTO public.notes SELECT g, CASE WHEN g % 2 = 0 THEN '{role}' ELSE 'someone else' END, 'note ' || g FROM generate_series(1, 10) AS g;
            ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
            CREATE POLICY own_notes ON public.notes USING (author = current_user);
            CREATE ROLE {role} LOGIN PASSWORD 'reader-password';
            GRANT SELECT ON public.notes TO {role};
            """);
        try
        {
            var asReader = url.Replace($"{PgTestServer.User}:{PgTestServer.Password}@", $"{role}:reader-password@", StringComparison.Ordinal);
            (await PgTestServer.PsqlAsync(PgTestServer.DatabaseName(url), $"SET ROLE {role}; SELECT count(*) FROM public.notes")).Trim().Split('\n')[^1].ShouldBe("5",
                "the policy hides half the rows from the role, or this test shows nothing");

            var result = await BackupFailsAsync(sandbox, asReader, ExitCodes.DatabaseFailed);
            result.Error.ShouldContain("row-level security");
            result.Error.ShouldContain("BYPASSRLS");

            // The owner (here a superuser) is not filtered: its backup holds all ten rows.
            await sandbox.BackupAsync(url);
            (await sandbox.ListTablesAsync(PgTestServer.DatabaseName(url)))["public.notes"].ShouldBe(10);
        }
        finally
        {
            await PgTestServer.DropDatabaseAsync(PgTestServer.DatabaseName(url));
            await PgTestServer.ExecuteAsync("postgres", $"DROP ROLE IF EXISTS {role}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_refused_connection_exits_30(bool builtProgram)
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        await BackupFailsAsync(sandbox, builtProgram, "postgresql://arca:arca@127.0.0.1:1/anything", ExitCodes.DatabaseUnreachable);
        (await sandbox.SnapshotCountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task An_unknown_database_exits_32()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var missing = "t_missing_" + Guid.NewGuid().ToString("N")[..12];
        var result = await BackupFailsAsync(sandbox, WithDatabase(url, missing), ExitCodes.DatabaseNotFound);
        result.Error.ShouldContain(missing);

        await sandbox.BackupAsync(url);
        (await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(url), "--to", WithDatabase(url, missing)))
            .ShouldFailWith(ExitCodes.DatabaseNotFound);
    }

    [Fact]
    public async Task An_unknown_table_exits_33()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var result = await BackupFailsAsync(sandbox, url, ExitCodes.TableNotFound, "--table", "public.t", "--table", "public.nope");
        result.Error.ShouldContain("public.nope");
        // Names are case-sensitive: public.T is not public.t.
        await BackupFailsAsync(sandbox, url, ExitCodes.TableNotFound, "--table", "public.T");
        await BackupFailsAsync(sandbox, url, ExitCodes.TableNotFound, "--where", "public.nope: id > 1");
    }

    [Theory]
    [InlineData("public.t: id >>> 3")]
    [InlineData("public.t: no_such_column = 1")]
    [InlineData("public.t: id = 'not a number'")]
    [InlineData("public.t: (id > 3")]
    public async Task A_where_filter_that_is_not_a_valid_condition_exits_34(string filter)
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var result = await BackupFailsAsync(sandbox, url, ExitCodes.InvalidFilter, "--where", filter);
        result.Error.ShouldContain("public.t");
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(4, false)]
    [InlineData(2, true)]
    public async Task A_where_filter_calling_nextval_exits_35_and_leaves_the_sequence_alone(int jobs, bool builtProgram)
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var name = PgTestServer.DatabaseName(url);
        var sequence = await PgTestServer.PsqlAsync(name, "SELECT last_value, is_called FROM public.t_id_seq");

        // A few runs: which reader meets the failing table first varies from run to run.
        for (var run = 0; run < 3; run++)
        {
            await BackupFailsAsync(sandbox, builtProgram, url, ExitCodes.FilterWrites,
                "--where", "public.t: nextval('public.t_id_seq') > 0", "--jobs", jobs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        (await PgTestServer.PsqlAsync(name, "SELECT last_value, is_called FROM public.t_id_seq")).ShouldBe(sequence);
    }

    [Fact]
    public async Task A_where_filter_calling_a_function_that_inserts_exits_35_and_inserts_nothing()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        await BackupFailsAsync(sandbox, url, ExitCodes.FilterWrites, "--where", "public.t: public.count_a_hit()");
        await BackupFailsAsync(sandbox, url, ExitCodes.FilterWrites, "--table", "public.t", "--where", "public.t: id > 100 AND public.count_a_hit()");
        (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(url), "SELECT count(*) FROM public.hits")).ShouldBe(0);
    }

    [Fact]
    public async Task A_where_filter_that_ends_the_read_only_transaction_is_refused_and_drops_nothing()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var name = PgTestServer.DatabaseName(url);
        var before = await PgTestServer.PgDumpAsync(name);

        // The filter is pasted into the SQL the backup runs; one holding ';' must not run statements of its own.
        var result = await sandbox.RunAsync("backup", url, "--where", "public.t: true); COMMIT; DROP TABLE public.other; SELECT (1");
        (await PgTestServer.ScalarAsync<bool>(name, "SELECT to_regclass('public.other') IS NOT NULL")).ShouldBeTrue($"the filter dropped public.other\n{result}");
        result.ExitCode.ShouldBeOneOf(new[] { ExitCodes.InvalidFilter, ExitCodes.FilterWrites }, result.ToString());
        result.ShouldFailWith(result.ExitCode);
        (await sandbox.SnapshotCountAsync()).ShouldBe(0);
        (await PgTestServer.PgDumpAsync(name)).ShouldBe(before);
    }

    [Fact]
    public async Task A_restore_where_filter_that_writes_exits_35_and_writes_nothing_even_in_a_dry_run()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url);
        var before = await PgTestServer.PgDumpAsync(name);

        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--where", "nextval('public.t_id_seq') > 0", "--dry-run"))
            .ShouldFailWith(ExitCodes.FilterWrites);
        (await PgTestServer.PgDumpAsync(name)).ShouldBe(before, "a dry run advanced the live sequence");

        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--where", "public.count_a_hit()", "--yes"))
            .ShouldFailWith(ExitCodes.FilterWrites);
        (await PgTestServer.ScalarAsync<long>(name, "SELECT count(*) FROM public.hits")).ShouldBe(0);
        (await PgTestServer.PgDumpAsync(name)).ShouldBe(before);
    }

    [Fact]
    public async Task A_restore_where_filter_that_ends_the_transaction_is_refused_and_a_dry_run_drops_nothing()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url);
        var before = await PgTestServer.PgDumpAsync(name);

        var result = await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url,
            "--where", "false) IS NOT TRUE; COMMIT; DROP TABLE public.other; SELECT (true", "--dry-run");
        (await PgTestServer.ScalarAsync<bool>(name, "SELECT to_regclass('public.other') IS NOT NULL")).ShouldBeTrue($"the dry run's filter dropped public.other\n{result}");
        result.ExitCode.ShouldBeOneOf(new[] { ExitCodes.InvalidFilter, ExitCodes.FilterWrites }, result.ToString());
        result.ShouldFailWith(result.ExitCode);
        (await PgTestServer.PgDumpAsync(name)).ShouldBe(before);
    }

    [Fact]
    public async Task A_restore_where_filter_that_is_not_a_valid_condition_exits_34()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        await sandbox.BackupAsync(url);
        var before = await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(url));
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--where", "id >>> 3", "--dry-run"))
            .ShouldFailWith(ExitCodes.InvalidFilter);
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--where", "no_such_column = 1", "--yes"))
            .ShouldFailWith(ExitCodes.InvalidFilter);
        (await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(url))).ShouldBe(before);
    }

    [Fact]
    public async Task Restoring_into_a_table_whose_columns_changed_exits_36_and_changes_nothing()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url);
        await PgTestServer.ExecuteAsync(name, "DELETE FROM public.t WHERE id % 2 = 0");

        async Task ShouldMismatch()
        {
            var before = await PgTestServer.PgDumpAsync(name);
            foreach (var mode in new[] { "insert-missing", "upsert", "replace" })
            {
                (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--mode", mode, "--yes"))
                    .ShouldFailWith(ExitCodes.TableMismatch);
            }
            (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--dry-run")).ShouldFailWith(ExitCodes.TableMismatch);
            (await PgTestServer.PgDumpAsync(name)).ShouldBe(before);
        }

        await PgTestServer.ExecuteAsync(name, "ALTER TABLE public.t DROP COLUMN note");
        await ShouldMismatch();

        // The column back, under the same name and type: the snapshot matches again.
        await PgTestServer.ExecuteAsync(name, "ALTER TABLE public.t ADD COLUMN note text");
        var (_, table) = await sandbox.RestoreTableAsync("latest", "--table", "public.t", "--to", url, "--dry-run");
        table.Long("insert").ShouldBe(100);

        await PgTestServer.ExecuteAsync(name, "ALTER TABLE public.t ALTER COLUMN v TYPE double precision");
        await ShouldMismatch();
        (await sandbox.SnapshotCountAsync()).ShouldBe(1);
    }

    [Fact]
    public async Task Restoring_a_table_the_snapshot_or_the_live_database_lacks_exits_33()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url, "--table", "public.t");

        var missing = await sandbox.RunAsync("restore", "latest", "--table", "public.other", "--to", url, "--dry-run");
        missing.ShouldFailWith(ExitCodes.TableNotFound);
        missing.Error.ShouldContain("public.other");
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t,public.nope", "--to", url, "--yes")).ShouldFailWith(ExitCodes.TableNotFound);

        await PgTestServer.ExecuteAsync(name, "DROP TABLE public.t");
        var before = await PgTestServer.PgDumpAsync(name);
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--yes")).ShouldFailWith(ExitCodes.TableNotFound);
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--into", "public.nope", "--to", url, "--dry-run"))
            .ShouldFailWith(ExitCodes.TableNotFound);
        (await PgTestServer.PgDumpAsync(name)).ShouldBe(before);
        (await sandbox.SnapshotCountAsync()).ShouldBe(1);
    }

    [Fact]
    public async Task A_whole_database_restore_into_a_non_empty_database_exits_37_and_changes_nothing()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        await sandbox.BackupAsync(url);
        var target = await sandbox.NewDatabaseAsync("CREATE SCHEMA app; CREATE TABLE app.keep (id integer PRIMARY KEY); INSERT INTO app.keep VALUES (1);");
        var before = await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(target));

        (await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(url), "--to", target)).ShouldFailWith(ExitCodes.DatabaseNotEmpty);
        // Into itself, the classic slip.
        (await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(url), "--to", url)).ShouldFailWith(ExitCodes.DatabaseNotEmpty);
        // The target is checked while the repository opens, but the repository's errors come first; so does a missing snapshot.
        (await sandbox.Runner.With("ARCA_PASSWORD", "not the repository's password").RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(url), "--to", target))
            .ShouldFailWith(ExitCodes.WrongPassword);
        (await sandbox.RunAsync("restore", "0123abcd", "--database", PgTestServer.DatabaseName(url), "--to", target)).ShouldFailWith(ExitCodes.SnapshotNotFound);

        (await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(target))).ShouldBe(before);
    }

    [Fact]
    public async Task A_whole_database_restore_into_a_database_with_no_tables_but_other_objects_exits_37()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        await sandbox.BackupAsync(url);
        // Not empty: someone's view, sequence and function live here, and a restore would mix the two databases.
        var target = await sandbox.NewDatabaseAsync("""
            CREATE VIEW public.answer AS SELECT 42 AS value;
            CREATE SEQUENCE public.tickets;
            CREATE FUNCTION public.hello() RETURNS text LANGUAGE sql AS $$ SELECT 'hello' $$;
            """);
        var before = await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(target));

        (await sandbox.RunAsync("restore", "latest", "--database", PgTestServer.DatabaseName(url), "--to", target)).ShouldFailWith(ExitCodes.DatabaseNotEmpty);
        (await PgTestServer.PgDumpAsync(PgTestServer.DatabaseName(target))).ShouldBe(before);
    }

    [Fact]
    public async Task A_table_restore_without_yes_or_dry_run_exits_2_and_changes_nothing()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        var name = PgTestServer.DatabaseName(url);
        await sandbox.BackupAsync(url);
        await PgTestServer.ExecuteAsync(name, "DELETE FROM public.t WHERE id > 100");
        var before = await PgTestServer.PgDumpAsync(name);

        foreach (var mode in new[] { "insert-missing", "upsert", "replace" })
        {
            (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--mode", mode)).ShouldFailWith(ExitCodes.Usage);
        }
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", url, "--mode", "everything", "--yes")).ShouldFailWith(ExitCodes.Usage);
        (await PgTestServer.PgDumpAsync(name)).ShouldBe(before);
    }

    [Fact]
    public async Task Option_mistakes_exit_2_before_anything_is_read()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(ShopSql);
        await BackupFailsAsync(sandbox, url, ExitCodes.Usage, "--where", "status = 'open'"); // no table named
        await BackupFailsAsync(sandbox, url, ExitCodes.Usage, "--where", "public.t: id > 1", "--where", "public.t: id < 9");
        await BackupFailsAsync(sandbox, url, ExitCodes.Usage, "--table", "public.other", "--where", "public.t: id > 1");
        await BackupFailsAsync(sandbox, url, ExitCodes.Usage, "--exclude-column", "public.t.id"); // the key
        await BackupFailsAsync(sandbox, url, ExitCodes.Usage, "--exclude-column", "public.t.nope");
        await BackupFailsAsync(sandbox, url, ExitCodes.Usage, "--exclude-column", "public.t");
        await BackupFailsAsync(sandbox, url, ExitCodes.Usage, "--jobs", "0");
        (await sandbox.RunAsync("backup", "postgresql://arca:arca@127.0.0.1:" + PgTestServer.Port)).ShouldFailWith(ExitCodes.Usage); // no database

        await sandbox.BackupAsync(url);
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t,public.other", "--into", "public.copy", "--to", url, "--dry-run"))
            .ShouldFailWith(ExitCodes.Usage);
        (await sandbox.RunAsync("restore", "latest", "--to", url)).ShouldFailWith(ExitCodes.Usage); // neither --table nor --database
        (await sandbox.RunAsync("restore", "latest", "--table", "public.t", "--to", "/tmp/not-a-url", "--dry-run")).ShouldFailWith(ExitCodes.Usage);
        (await sandbox.SnapshotCountAsync()).ShouldBe(1);
    }

    [Fact]
    public async Task A_backup_killed_while_reading_leaves_no_snapshot_and_a_repository_that_checks_clean()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        // About 150 MB of COPY text: a few seconds of backup, long enough to be killed in the middle.
        var url = await sandbox.NewDatabaseAsync("""
            CREATE TABLE public.big AS
                SELECT g::bigint AS id, md5(g::text) AS a, md5((-g)::text) || repeat('x', 20) AS b
                FROM generate_series(1, 1500000) AS g;
            ALTER TABLE public.big ADD PRIMARY KEY (id);
            """);
        var binary = await ArcaBinary.GetAsync(CancellationToken.None);
        var info = new ProcessStartInfo(binary) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "backup", url, "--quiet" })
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("ARCA_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }
        foreach (var (key, value) in sandbox.Runner.Environment.Where(e => e.Value is not null))
        {
            info.Environment[key] = value;
        }
        var data = Path.Combine(sandbox.Repository, "data");
        using (var backup = Process.Start(info)!)
        {
            backup.StandardInput.Close();
            var output = backup.StandardOutput.ReadToEndAsync();
            var error = backup.StandardError.ReadToEndAsync();
            // Watched from a thread of its own, so a busy thread pool cannot delay the kill past the backup's end.
            var killed = await Task.Factory.StartNew(() =>
            {
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while (!backup.HasExited && DateTime.UtcNow < deadline)
                {
                    var packs = Directory.Exists(data)
                        ? Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Count(f => !Path.GetFileName(f).StartsWith('.'))
                        : 0;
                    if (packs >= 1)
                    {
                        backup.Kill(); // SIGKILL: no cleanup runs.
                        return true;
                    }
                    Thread.Sleep(1);
                }
                return false;
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await backup.WaitForExitAsync();
            killed.ShouldBeTrue($"the backup ended before a pack was written, or it never wrote one:\n{await output}\n{await error}");
        }

        (await sandbox.SnapshotCountAsync()).ShouldBe(0);
        var check = await sandbox.RunAsync("check");
        check.ShouldSucceed();
    }
}
