using System.Text.Json;
using Arca.Cli;
using Arca.TestKit;

namespace Arca.Sqlite.Tests;

/// <summary>
/// Tables restored into the live file after a bad cleanup (10% of the documents deleted, 5% edited, 5 added
/// since): a dry run counts exactly what each mode would do and writes nothing; insert-missing brings back the
/// deleted rows only, upsert also undoes the edits, replace also removes the rows the snapshot never had;
/// --where and --into restrict what is restored and where; parent and child tables go in foreign-key order
/// whatever order they are named in. The search index kept by triggers follows every change, the one kept by
/// hand is rebuilt, and FTS5 finds the restored rows. sqlite3 judges each result against a copy of the database
/// taken (by sqlite3) before the cleanup.
/// </summary>
public sealed class TableRestoreTests
{
    private const string Schema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT, score REAL);
        -- The search index the application keeps by triggers.
        CREATE VIRTUAL TABLE docs_fts USING fts5(title, body, content = 'docs', content_rowid = 'id');
        CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN
            INSERT INTO docs_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
        END;
        CREATE TRIGGER docs_ad AFTER DELETE ON docs BEGIN
            INSERT INTO docs_fts(docs_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
        END;
        CREATE TRIGGER docs_au AFTER UPDATE ON docs BEGIN
            INSERT INTO docs_fts(docs_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
            INSERT INTO docs_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
        END;
        -- A second index the application rebuilds by hand now and then (no trigger keeps it).
        CREATE VIRTUAL TABLE docs_titles USING fts5(title, content = 'docs', content_rowid = 'id');
        CREATE TABLE docs_copy (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT, score REAL);
        CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE, title TEXT NOT NULL);

        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
        INSERT INTO docs (id, title, body, score)
            SELECT i, 'title' || i, 'body word' || i || ' common ünïcødé', CASE WHEN i % 13 = 0 THEN NULL ELSE i / 4.0 END FROM n;
        INSERT INTO docs_titles(docs_titles) VALUES ('rebuild');
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
        INSERT INTO authors SELECT i, 'author ' || i FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
        INSERT INTO books SELECT i, 1 + i % 100, 'book ' || i FROM n;
        """;

    /// <summary>
    /// The bad cleanup: 200 documents deleted (id % 10 = 0), 100 edited (id % 20 = 1), 5 added (3001-3005); 10
    /// authors deleted with their 100 books (the cascade). Then the application's nightly rebuild of docs_titles.
    /// </summary>
    private const string BadCleanup = """
        PRAGMA foreign_keys = ON;
        DELETE FROM docs WHERE id % 10 = 0;
        UPDATE docs SET body = body || ' edited', score = NULL WHERE id % 20 = 1;
        WITH RECURSIVE n(i) AS (SELECT 3001 UNION ALL SELECT i + 1 FROM n WHERE i < 3005)
        INSERT INTO docs (id, title, body, score) SELECT i, 'title' || i, 'newrow', 0.5 FROM n;
        DELETE FROM authors WHERE id % 10 = 0;
        INSERT INTO docs_titles(docs_titles) VALUES ('rebuild');
        """;

    /// <summary>The live database after the bad cleanup, and sqlite3's copy of it from before.</summary>
    private sealed record Situation(SqliteSandbox Sandbox, string Live, string Original) : IDisposable
    {
        public string To => "sqlite:" + Live;

        public void Dispose() => Sandbox.Dispose();
    }

    private static async Task<Situation> BadCleanupAsync()
    {
        var sandbox = await SqliteSandbox.CreateAsync();
        var live = sandbox.Path("library.db");
        Connections.Create(live, Schema);
        await sandbox.BackupAsync("sqlite:" + live);
        var original = sandbox.Path("original.db");
        await Sqlite3.RunAsync(live, $"VACUUM INTO '{original}'");
        Connections.Create(live, BadCleanup);
        (await Sqlite3.CountAsync(live, "SELECT count(*) FROM docs")).ShouldBe(1805);
        (await Sqlite3.CountAsync(live, "SELECT count(*) FROM books")).ShouldBe(900);
        // Neither search index finds a deleted row any more.
        (await SearchAsync(live, "docs_fts", "word10")).ShouldBeEmpty();
        (await SearchAsync(live, "docs_titles", "title10")).ShouldBeEmpty();
        return new Situation(sandbox, live, original);
    }

    /// <summary>The rows of <paramref name="table"/> matching <paramref name="where"/>, in key order, as sqlite3 prints them.</summary>
    private static Task<string> RowsAsync(string database, string where = "true", string table = "docs") =>
        Sqlite3.QueryAsync(database, $"SELECT * FROM {table} WHERE {where} ORDER BY id");

    private static Task<string> SearchAsync(string database, string index, string query) =>
        Sqlite3.QueryAsync(database, $"SELECT group_concat(rowid) FROM (SELECT rowid FROM {index} WHERE {index} MATCH '{query}' ORDER BY rowid)");

    /// <summary>Both search indexes agree with the table (FTS5's own check), and find a restored row by a word only it holds.</summary>
    private static async Task SearchesFindAsync(string live, int id)
    {
        await Sqlite3.ShouldPassSearchCheckAsync(live, "docs_fts");
        await Sqlite3.ShouldPassSearchCheckAsync(live, "docs_titles");
        (await SearchAsync(live, "docs_fts", $"word{id}")).ShouldBe(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        (await SearchAsync(live, "docs_titles", $"title{id}")).ShouldBe(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        (await Sqlite3.CountAsync(live, "SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'common'"))
            .ShouldBe(await Sqlite3.CountAsync(live, "SELECT count(*) FROM docs WHERE body LIKE '%common%'"));
    }

    [Fact]
    public async Task A_dry_run_counts_200_to_insert_100_to_update_1700_unchanged_and_5_to_delete_and_writes_nothing()
    {
        using var s = await BadCleanupAsync();
        var before = await Sqlite3.DumpAsync(s.Live);
        foreach (var (mode, delete) in new[] { ("insert-missing", 0L), ("upsert", 0L), ("replace", 5L) })
        {
            var table = await s.Sandbox.RestoreTableAsync("latest", "--table", "docs", "--to", s.To, "--mode", mode, "--dry-run");
            table.ShouldCount(insert: 200, update: 100, unchanged: 1700, delete: delete);
            table.Long("snapshot_rows").ShouldBe(2000);
            table.Bool("applied").ShouldBeFalse();
            table.GetProperty("sample_insert")[0].GetString().ShouldBe("id=10");
            table.GetProperty("sample_update")[0].GetString().ShouldBe("id=1");
        }
        // Also without --json, and with no --yes: a dry run needs none.
        var text = await s.Sandbox.RunAsync("restore", "latest", "--table", "docs", "--to", s.To, "--dry-run");
        text.ShouldSucceed();
        text.Out.ShouldContain("200 to insert");
        (await Sqlite3.DumpAsync(s.Live)).ShouldBe(before);
    }

    [Fact]
    public async Task Insert_missing_brings_back_the_deleted_rows_leaves_the_edited_ones_and_the_searches_find_them()
    {
        using var s = await BadCleanupAsync();
        var edited = await RowsAsync(s.Live, "id % 20 = 1");
        var added = await RowsAsync(s.Live, "id > 3000");
        var table = await s.Sandbox.RestoreTableAsync("latest", "--table", "docs", "--to", s.To, "--yes");
        table.ShouldCount(insert: 200, update: 100, unchanged: 1700, delete: 0);
        table.Bool("applied").ShouldBeTrue();
        table.Bool("verified").ShouldBeTrue();
        // The index no trigger keeps was rebuilt, and said so; the one kept by triggers was kept by them.
        table.GetProperty("adjustments").EnumerateArray().Select(a => a.GetString()).ShouldHaveSingleItem()!.ShouldContain("docs_titles");

        (await RowsAsync(s.Live, "id % 10 = 0")).ShouldBe(await RowsAsync(s.Original, "id % 10 = 0"));
        (await RowsAsync(s.Live, "id % 20 = 1")).ShouldBe(edited);
        (await RowsAsync(s.Live, "id > 3000")).ShouldBe(added);
        (await Sqlite3.CountAsync(s.Live, "SELECT count(*) FROM docs")).ShouldBe(2005);
        await SearchesFindAsync(s.Live, 1990);
        (await Sqlite3.CountAsync(s.Live, "SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'edited'")).ShouldBe(100);
        await Sqlite3.ShouldBeIntactAsync(s.Live);
    }

    [Fact]
    public async Task Upsert_also_undoes_the_edits_and_keeps_the_added_rows()
    {
        using var s = await BadCleanupAsync();
        var added = await RowsAsync(s.Live, "id > 3000");
        var table = await s.Sandbox.RestoreTableAsync("latest", "--table", "docs", "--to", s.To, "--mode", "upsert", "--yes");
        table.ShouldCount(insert: 200, update: 100, unchanged: 1700, delete: 0);
        table.Bool("verified").ShouldBeTrue();

        (await RowsAsync(s.Live, "id <= 3000")).ShouldBe(await RowsAsync(s.Original));
        (await RowsAsync(s.Live, "id > 3000")).ShouldBe(added);
        await SearchesFindAsync(s.Live, 10);
        (await SearchAsync(s.Live, "docs_fts", "edited")).ShouldBeEmpty();
        (await SearchAsync(s.Live, "docs_fts", "newrow")).ShouldBe("3001,3002,3003,3004,3005");
        await Sqlite3.ShouldBeIntactAsync(s.Live);
    }

    [Fact]
    public async Task Replace_also_deletes_the_rows_the_snapshot_lacks()
    {
        using var s = await BadCleanupAsync();
        var table = await s.Sandbox.RestoreTableAsync("latest", "--table", "docs", "--to", s.To, "--mode", "replace", "--yes");
        table.ShouldCount(insert: 200, update: 100, unchanged: 1700, delete: 5);
        table.Bool("verified").ShouldBeTrue();

        (await RowsAsync(s.Live)).ShouldBe(await RowsAsync(s.Original));
        await SearchesFindAsync(s.Live, 2000);
        (await SearchAsync(s.Live, "docs_fts", "newrow")).ShouldBeEmpty();
        (await SearchAsync(s.Live, "docs_titles", "title3001")).ShouldBeEmpty();
        await Sqlite3.ShouldBeIntactAsync(s.Live);
    }

    [Fact]
    public async Task Where_restricts_the_rows_restored_and_for_replace_the_rows_deleted()
    {
        using var s = await BadCleanupAsync();
        // Ids 1501-2000: 50 deleted, 25 edited, 425 as they were; the 5 added rows (3001-3005) are in scope for replace.
        var dryRun = await s.Sandbox.RestoreTableAsync("latest", "--table", "docs", "--to", s.To, "--where", "id > 1500", "--mode", "replace", "--dry-run");
        dryRun.ShouldCount(insert: 50, update: 25, unchanged: 425, delete: 5);
        // With the condition on ids up to 1000 the added rows are out of a replace's reach.
        var outOfReach = await s.Sandbox.RestoreTableAsync("latest", "--table", "docs", "--to", s.To, "--where", "id <= 1000", "--mode", "replace", "--dry-run");
        outOfReach.ShouldCount(insert: 100, update: 50, unchanged: 850, delete: 0);

        var table = await s.Sandbox.RestoreTableAsync("latest", "--table", "docs", "--to", s.To, "--where", "id <= 1000", "--yes");
        table.ShouldCount(insert: 100, update: 50, unchanged: 850, delete: 0);
        (await RowsAsync(s.Live, "id <= 1000 AND id % 10 = 0")).ShouldBe(await RowsAsync(s.Original, "id <= 1000 AND id % 10 = 0"));
        (await Sqlite3.CountAsync(s.Live, "SELECT count(*) FROM docs WHERE id > 1000 AND id <= 2000 AND id % 10 = 0")).ShouldBe(0);
        (await Sqlite3.CountAsync(s.Live, "SELECT count(*) FROM docs")).ShouldBe(1905);
        await SearchesFindAsync(s.Live, 1000);
        (await SearchAsync(s.Live, "docs_fts", "word1010")).ShouldBeEmpty();
    }

    [Fact]
    public async Task Into_restores_the_rows_into_another_table_and_leaves_the_table_itself_alone()
    {
        using var s = await BadCleanupAsync();
        var damaged = await RowsAsync(s.Live);
        var table = await s.Sandbox.RestoreTableAsync("latest", "--table", "docs", "--into", "docs_copy", "--to", s.To, "--yes");
        table.ShouldCount(insert: 2000, update: 0, unchanged: 0, delete: 0);
        table.GetProperty("target").GetString().ShouldBe("docs_copy");

        (await RowsAsync(s.Live, table: "docs_copy")).ShouldBe(await RowsAsync(s.Original));
        (await RowsAsync(s.Live)).ShouldBe(damaged);
        await Sqlite3.ShouldPassSearchCheckAsync(s.Live, "docs_fts");
    }

    [Fact]
    public async Task Parent_and_child_tables_both_cut_back_are_restored_parent_first_whatever_the_order_named()
    {
        using var s = await BadCleanupAsync();
        var result = await s.Sandbox.RunAsync("restore", "latest", "--table", "books,authors", "--to", s.To, "--yes", "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        var tables = json.RootElement.GetProperty("tables").EnumerateArray().ToList();
        tables.Select(t => t.GetProperty("table").GetString()).ShouldBe(["authors", "books"]);
        tables[0].ShouldCount(insert: 10, update: 0, unchanged: 90, delete: 0);
        tables[1].ShouldCount(insert: 100, update: 0, unchanged: 900, delete: 0);

        (await RowsAsync(s.Live, table: "authors")).ShouldBe(await RowsAsync(s.Original, table: "authors"));
        (await RowsAsync(s.Live, table: "books")).ShouldBe(await RowsAsync(s.Original, table: "books"));
        (await Sqlite3.QueryAsync(s.Live, "PRAGMA foreign_key_check")).ShouldBeEmpty();
    }

    [Fact]
    public async Task Tables_without_rowid_with_generated_columns_and_large_blobs_come_back_row_for_row_and_their_triggers_fire()
    {
        using var sandbox = await SqliteSandbox.CreateAsync();
        var live = sandbox.Path("app.db");
        AppDatabase.CreateWithWal(live).Dispose();
        await sandbox.BackupAsync("sqlite:" + live);
        var original = sandbox.Path("original.db");
        await Sqlite3.RunAsync(live, $"VACUUM INTO '{original}'");
        var audited = await Sqlite3.CountAsync(live, "SELECT count(*) FROM audit");
        // tags: WITHOUT ROWID, a two-column key; books: generated columns, AUTOINCREMENT; blobs: WITHOUT ROWID, up to 300 KiB.
        Connections.Create(live, """
            PRAGMA foreign_keys = ON;
            DELETE FROM books WHERE id % 9 = 0;
            UPDATE books SET price = 1, title = 'renamed' WHERE id % 11 = 0;
            UPDATE tags SET weight = 99 WHERE book_id % 7 = 0;
            DELETE FROM tags WHERE tag = 'ünï';
            DELETE FROM blobs WHERE name IN ('big', 'null');
            UPDATE blobs SET data = x'01' WHERE name = 'first big';
            """);
        var deletedBooks = await Sqlite3.CountAsync(original, "SELECT count(*) FROM books WHERE id % 9 = 0");

        var result = await sandbox.RunAsync("restore", "latest", "--table", "tags,blobs,books", "--to", "sqlite:" + live, "--mode", "upsert", "--yes", "--json");
        result.ShouldSucceed();
        using (var json = result.Json())
        {
            var tables = json.RootElement.GetProperty("tables").EnumerateArray().ToDictionary(t => t.GetProperty("table").GetString()!, t => t.Clone());
            tables["books"].ShouldCount(insert: deletedBooks, update: await Sqlite3.CountAsync(original, "SELECT count(*) FROM books WHERE id % 11 = 0 AND id % 9 <> 0"),
                unchanged: await Sqlite3.CountAsync(original, "SELECT count(*) FROM books WHERE id % 11 <> 0 AND id % 9 <> 0"), delete: 0);
            tables["blobs"].ShouldCount(insert: 2, update: 1, unchanged: 3, delete: 0);
            tables["tags"].Long("insert").ShouldBe(await Sqlite3.CountAsync(original, "SELECT count(*) FROM tags WHERE tag = 'ünï' OR book_id % 9 = 0"));
        }
        foreach (var table in new[] { "tags", "blobs", "books" })
        {
            var all = $"SELECT * FROM {table} ORDER BY 1, 2";
            (await Sqlite3.QueryAsync(live, all)).ShouldBe(await Sqlite3.QueryAsync(original, all), table);
        }
        (await Sqlite3.QueryAsync(live, "SELECT sum(price_cents), count(title_upper) FROM books"))
            .ShouldBe(await Sqlite3.QueryAsync(original, "SELECT sum(price_cents), count(title_upper) FROM books"));
        // The application's trigger saw the books come back, as it sees every insert.
        (await Sqlite3.CountAsync(live, "SELECT count(*) FROM audit")).ShouldBe(audited + deletedBooks);
        (await Sqlite3.QueryAsync(live, "PRAGMA foreign_key_check")).ShouldBeEmpty();
        await Sqlite3.ShouldBeIntactAsync(live);
    }

    [Theory]
    [InlineData("\"my docs\"")]
    [InlineData("'my docs'")]
    [InlineData("[my docs]")]
    public async Task An_FTS5_index_kept_by_hand_over_a_table_whose_name_needs_quoting_is_rebuilt_too(string contentOption)
    {
        using var sandbox = await SqliteSandbox.CreateAsync();
        var live = sandbox.Path("notes.db");
        Connections.Create(live, $"""
            CREATE TABLE "my docs" (id INTEGER PRIMARY KEY, "the text" TEXT NOT NULL);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO "my docs" SELECT i, 'word' || i FROM n;
            CREATE VIRTUAL TABLE "my search" USING fts5("the text", content = {contentOption}, content_rowid = 'id');
            INSERT INTO "my search"("my search") VALUES ('rebuild');
            """);
        await sandbox.BackupAsync("sqlite:" + live);
        Connections.Create(live, """DELETE FROM "my docs" WHERE id % 10 = 0; INSERT INTO "my search"("my search") VALUES ('rebuild');""");
        (await SearchAsync(live, "\"my search\"", "word60")).ShouldBeEmpty();

        var table = await sandbox.RestoreTableAsync("latest", "--table", "my docs", "--to", "sqlite:" + live, "--yes");
        table.ShouldCount(insert: 10, update: 0, unchanged: 90, delete: 0);
        table.GetProperty("adjustments").EnumerateArray().Select(a => a.GetString()).ShouldHaveSingleItem()!.ShouldContain("my search");
        (await SearchAsync(live, "\"my search\"", "word60")).ShouldBe("60");
        await Sqlite3.ShouldPassSearchCheckAsync(live, "\"my search\"");
    }

    [Fact]
    public async Task A_child_table_alone_whose_parents_are_gone_is_refused_by_its_foreign_key_with_exit_38_and_nothing_written()
    {
        using var s = await BadCleanupAsync();
        var before = await Sqlite3.DumpAsync(s.Live);
        var result = await s.Sandbox.RunAsync("restore", "latest", "--table", "books", "--to", s.To, "--yes");
        result.ShouldFailWith(ExitCodes.DatabaseFailed);
        result.Error.ShouldContain("FOREIGN KEY constraint failed");
        (await Sqlite3.DumpAsync(s.Live)).ShouldBe(before);
    }
}
