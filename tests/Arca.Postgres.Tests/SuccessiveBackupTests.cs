using Arca.TestKit;

namespace Arca.Postgres.Tests;

/// <summary>
/// Backups after the first may store a table as its changes since the parent's copy (keys of integer or uuid
/// type): every snapshot of a series still gives back the database exactly as it was at its time, through a
/// whole-database restore, a dump and a table restore, whatever the keys (negative, at the limits of bigint,
/// uuid, composite) and wherever rows were added, changed or removed (before the first key, between keys,
/// after the last).
/// </summary>
public sealed class SuccessiveBackupTests
{
    private const string TablesSql = """
        CREATE TABLE public.accounts (id integer PRIMARY KEY, owner text NOT NULL, balance numeric(12,2));
        INSERT INTO public.accounts SELECT g, 'owner ' || g, g * 2.5 FROM generate_series(-500, 499) AS g;
        CREATE TABLE public.sessions (id uuid PRIMARY KEY, user_id integer NOT NULL, data jsonb);
        INSERT INTO public.sessions SELECT md5(g::text)::uuid, g % 37, jsonb_build_object('n', g) FROM generate_series(1, 500) AS g;
        CREATE TABLE public.big_ids (id bigint PRIMARY KEY, v text);
        INSERT INTO public.big_ids VALUES (-9223372036854775808, 'min'), (-1, 'minus one'), (0, 'zero'), (1, 'one'), (9223372036854775807, 'max');
        INSERT INTO public.big_ids SELECT g * 100000000000, 'step ' || g FROM generate_series(-90000, 90000, 1000) AS g WHERE g <> 0;
        CREATE TABLE public.pairs (a integer, b uuid, v text, PRIMARY KEY (a, b));
        INSERT INTO public.pairs SELECT g % 10 - 5, md5('pair' || g)::uuid, 'pair ' || g FROM generate_series(1, 400) AS g;
        CREATE TABLE public.names (name text PRIMARY KEY, v integer);
        INSERT INTO public.names SELECT 'name ' || g, g FROM generate_series(1, 300) AS g;
        """;

    /// <summary>A few percent of each table: rows removed, changed and added before, between and after the existing keys.</summary>
    private const string SecondChangesSql = """
        DELETE FROM public.accounts WHERE id IN (-500, -10, -9, -1, 0, 7, 499) OR id % 97 = 0;
        UPDATE public.accounts SET balance = balance + 1, owner = owner || ' (changed)' WHERE id % 41 = 3 OR id IN (-100, -11);
        INSERT INTO public.accounts VALUES (-1000, 'before the first', 1), (-10, 'back again', NULL), (1000, 'after the last', 2), (2147483647, 'int max', 3);
        DELETE FROM public.sessions WHERE user_id = 5;
        UPDATE public.sessions SET data = data || '{"changed": true}' WHERE user_id = 6;
        INSERT INTO public.sessions VALUES ('00000000-0000-0000-0000-000000000000', 1, NULL), ('ffffffff-ffff-ffff-ffff-ffffffffffff', 2, '[]');
        DELETE FROM public.big_ids WHERE id IN (-1, 9223372036854775807);
        UPDATE public.big_ids SET v = 'MIN' WHERE id = -9223372036854775808;
        INSERT INTO public.big_ids VALUES (-2, 'minus two'), (9223372036854775806, 'almost max');
        DELETE FROM public.pairs WHERE v LIKE '%7';
        UPDATE public.pairs SET v = v || '!' WHERE a = -5 AND v LIKE '%3';
        INSERT INTO public.pairs VALUES (-6, '00000000-0000-0000-0000-000000000001', 'new first'), (4, 'ffffffff-0000-0000-0000-000000000000', 'new last');
        DELETE FROM public.names WHERE v % 10 = 0;
        INSERT INTO public.names VALUES ('Zebra', 1), ('aardvark', 2);
        """;

    /// <summary>Changes on top of the second state: some undo it, some delete what it added.</summary>
    private const string ThirdChangesSql = """
        DELETE FROM public.accounts WHERE id IN (-1000, 2147483647) OR id % 89 = 1;
        INSERT INTO public.accounts VALUES (0, 'zero is back', 0), (-500, 'first is back', -1);
        UPDATE public.accounts SET balance = NULL WHERE id BETWEEN -20 AND 20;
        UPDATE public.sessions SET user_id = user_id + 100 WHERE user_id = 7;
        DELETE FROM public.sessions WHERE id = '00000000-0000-0000-0000-000000000000';
        INSERT INTO public.big_ids VALUES (-1, 'minus one is back'), (9223372036854775807, 'max is back');
        DELETE FROM public.big_ids WHERE id = 0;
        DELETE FROM public.pairs WHERE a = 0;
        UPDATE public.names SET v = -v WHERE v % 7 = 0;
        """;

    private static readonly (string Table, string OrderBy)[] Tables =
    [
        ("public.accounts", "t.id"),
        ("public.sessions", "t.id"),
        ("public.big_ids", "t.id"),
        ("public.pairs", "t.a, t.b"),
        ("public.names", "t.name"),
    ];

    /// <summary>Each table's fingerprint, and the accounts' COPY text in key order, as a dump must give them.</summary>
    private sealed record State(string Snapshot, Dictionary<string, string> Checksums, string AccountsCopy);

    private static async Task<State> BackupAsync(PgSandbox sandbox, string url)
    {
        var name = PgTestServer.DatabaseName(url);
        var checksums = new Dictionary<string, string>();
        foreach (var (table, orderBy) in Tables)
        {
            checksums[table] = await PgTestServer.TableChecksumAsync(name, table, orderBy);
        }
        var copy = await PgTestServer.PsqlAsync(name, "COPY (SELECT * FROM public.accounts ORDER BY id) TO STDOUT");
        return new State(await sandbox.BackupAsync(url), checksums, copy);
    }

    [Fact]
    public async Task Every_snapshot_of_a_series_restores_and_dumps_the_database_as_it_was_at_its_time()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(TablesSql);
        var name = PgTestServer.DatabaseName(url);
        var states = new List<State> { await BackupAsync(sandbox, url) };
        await PgTestServer.ExecuteAsync(name, SecondChangesSql);
        states.Add(await BackupAsync(sandbox, url));
        await PgTestServer.ExecuteAsync(name, ThirdChangesSql);
        states.Add(await BackupAsync(sandbox, url));
        // Nothing changed: the fourth is the third again.
        states.Add(await BackupAsync(sandbox, url));

        for (var i = 0; i < states.Count; i++)
        {
            var state = states[i];
            var because = $"snapshot {i + 1} of {states.Count}";
            var rows = await sandbox.ListTablesAsync(name, state.Snapshot);
            foreach (var (table, _) in Tables)
            {
                rows[table].ShouldBe(long.Parse(state.Checksums[table].Split(':')[0], System.Globalization.CultureInfo.InvariantCulture), $"{because}: {table}");
            }

            var dump = await sandbox.RunAsync("dump", state.Snapshot, name + "/public.accounts", "--format", "raw");
            dump.ShouldSucceed();
            dump.Out.ShouldBe(state.AccountsCopy, because);

            var target = await sandbox.NewDatabaseAsync();
            var targetName = PgTestServer.DatabaseName(target);
            var restore = await sandbox.RunAsync("restore", state.Snapshot, "--database", name, "--to", target, "--json");
            restore.ShouldSucceed();
            using (var json = restore.Json())
            {
                json.RootElement.GetProperty("verified").GetBoolean().ShouldBeTrue($"{because}\n{restore}");
            }
            foreach (var (table, orderBy) in Tables)
            {
                (await PgTestServer.TableChecksumAsync(targetName, table, orderBy)).ShouldBe(state.Checksums[table], $"{because}: {table}");
            }
            await PgTestServer.DropDatabaseAsync(targetName);
        }

        // A table restore from the second snapshot into the live (third) state makes the table its second state.
        var (_, replace) = await sandbox.RestoreTableAsync(states[1].Snapshot, "--table", "public.accounts", "--to", url, "--mode", "replace", "--yes");
        replace.Bool("verified").ShouldBeTrue();
        (await PgTestServer.TableChecksumAsync(name, "public.accounts", "t.id")).ShouldBe(states[1].Checksums["public.accounts"]);
    }

    [Fact]
    public async Task A_filter_or_an_excluded_column_added_in_a_later_backup_applies_to_that_snapshot_only()
    {
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync(TablesSql);
        var name = PgTestServer.DatabaseName(url);
        var full = await sandbox.BackupAsync(url);
        await PgTestServer.ExecuteAsync(name, "UPDATE public.accounts SET owner = 'x' WHERE id = 5; DELETE FROM public.sessions WHERE user_id = 3");
        var filtered = await sandbox.BackupAsync(url, "--where", "public.accounts: id >= 400", "--exclude-column", "public.sessions.data");
        var after = await sandbox.BackupAsync(url);

        (await sandbox.ListTablesAsync(name, full))["public.accounts"].ShouldBe(1000);
        (await sandbox.ListTablesAsync(name, filtered))["public.accounts"].ShouldBe(100);
        (await sandbox.ListTablesAsync(name, after))["public.accounts"].ShouldBe(1000);

        var filteredDump = await sandbox.RunAsync("dump", filtered, name + "/public.accounts", "--format", "raw");
        filteredDump.ShouldSucceed();
        filteredDump.Out.ShouldBe(await PgTestServer.PsqlAsync(name, "COPY (SELECT * FROM public.accounts WHERE id >= 400 ORDER BY id) TO STDOUT"));
        var sessions = await sandbox.RunAsync("dump", filtered, name + "/public.sessions", "--format", "raw");
        sessions.ShouldSucceed();
        sessions.Out.ShouldBe(await PgTestServer.PsqlAsync(name, "COPY (SELECT id, user_id FROM public.sessions ORDER BY id) TO STDOUT"));
        var afterDump = await sandbox.RunAsync("dump", after, name + "/public.accounts", "--format", "raw");
        afterDump.ShouldSucceed();
        afterDump.Out.ShouldBe(await PgTestServer.PsqlAsync(name, "COPY (SELECT * FROM public.accounts ORDER BY id) TO STDOUT"));
        var afterSessions = await sandbox.RunAsync("dump", after, name + "/public.sessions", "--format", "raw");
        afterSessions.ShouldSucceed();
        afterSessions.Out.ShouldBe(await PgTestServer.PsqlAsync(name, "COPY (SELECT * FROM public.sessions ORDER BY id) TO STDOUT"));
    }
}
