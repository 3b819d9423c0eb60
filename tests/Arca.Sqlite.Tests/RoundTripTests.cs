using Arca.TestKit;

namespace Arca.Sqlite.Tests;

/// <summary>
/// A database with every feature an application uses, part of it only in its -wal file at backup time, comes back
/// identical: Debian's sqlite3 dumps the original and each restored copy (the whole file with --sqlite NAME
/// --target FILE, and the snapshot restored into a folder) to the same text, finds them intact, and FTS5 finds
/// in them what it finds in the original. <c>arca ls</c> lists the tables with the rows sqlite3 counts.
/// </summary>
public sealed class RoundTripTests
{
    [Fact]
    public async Task A_database_with_every_feature_and_part_of_it_only_in_the_WAL_restores_to_the_same_sqlite3_dump()
    {
        using var sandbox = await SqliteSandbox.CreateAsync();
        var database = sandbox.Path("app.db");
        using var application = AppDatabase.CreateWithWal(database);

        // The later part is in the -wal file only: the database file alone lacks it.
        new FileInfo(database + "-wal").Length.ShouldBeGreaterThan(300_000);
        var fileAlone = sandbox.Path("file-alone.db");
        await OtherProcess.CopyAsync(database, fileAlone);
        (await Sqlite3.CountAsync(fileAlone, "SELECT count(*) FROM blobs WHERE name = 'big'")).ShouldBe(0);
        (await Sqlite3.CountAsync(fileAlone, "SELECT count(*) FROM docs WHERE id > 300")).ShouldBe(0);

        var original = await Sqlite3.DumpAsync(database);
        // The fixture is what it claims to be, as sqlite3 sees it.
        original.ShouldContain("WITHOUT ROWID");
        original.ShouldContain("CREATE VIRTUAL TABLE docs_fts USING fts5");
        original.ShouldContain("CREATE VIRTUAL TABLE notes USING fts5");
        original.ShouldContain("CREATE TRIGGER docs_au");
        original.ShouldContain("CREATE VIEW book_list");
        original.ShouldContain("GENERATED ALWAYS AS");
        original.ShouldContain("INSERT INTO sqlite_sequence VALUES('books',501);");
        (await Sqlite3.QueryAsync(database, "PRAGMA journal_mode")).ShouldBe("wal");
        (await Sqlite3.CountAsync(database, "SELECT length(data) FROM blobs WHERE name = 'big'")).ShouldBe(300_000);

        var (id, summary) = await sandbox.BackupAsync("sqlite:" + database);
        var backedUp = summary.GetProperty("databases")[0];
        backedUp.GetProperty("tables").GetInt32().ShouldBe(AppDatabase.Tables.Length);

        // The backup only read: the -wal file is still there, unapplied, and the database says the same.
        new FileInfo(database + "-wal").Length.ShouldBeGreaterThan(300_000);
        (await Sqlite3.DumpAsync(database)).ShouldBe(original);

        // arca ls: the database file, its tables and their rows as sqlite3 counts them.
        var node = await sandbox.DatabaseNodeAsync("app.db", id);
        node.GetProperty("path").GetString().ShouldBe("/app.db");
        node.GetProperty("source").GetString().ShouldBe("sqlite:" + database);
        var tables = SqliteSandbox.TablesOf(node);
        tables.Select(t => t.Name).ShouldBe(AppDatabase.Tables);
        long rows = 0;
        foreach (var (name, count, checksum) in tables)
        {
            count.ShouldBe(await Sqlite3.CountAsync(database, $"SELECT count(*) FROM {name}"), name);
            checksum.ShouldMatch("^[0-9a-f]{64}$");
            rows += count;
        }
        backedUp.GetProperty("rows").GetInt64().ShouldBe(rows);

        // The whole file, and the snapshot restored into a folder.
        var asFile = sandbox.Path("restored", "app-copy.db");
        (await sandbox.RunAsync("restore", id, "--sqlite", "app.db", "--target", asFile)).ShouldSucceed();
        var folder = sandbox.Path("folder");
        (await sandbox.RunAsync("restore", id, "--target", folder)).ShouldSucceed();
        var inFolder = Path.Combine(folder, "app.db");

        foreach (var restored in new[] { asFile, inFolder })
        {
            File.Exists(restored + "-wal").ShouldBeFalse(restored);
            (await Sqlite3.DumpAsync(restored)).ShouldBe(original, restored);
            await Sqlite3.ShouldBeIntactAsync(restored);
            await Sqlite3.ShouldPassSearchCheckAsync(restored, "docs_fts");
            await Sqlite3.ShouldPassSearchCheckAsync(restored, "notes");
            // The searches find what they find in the original: rows that were only in the WAL, and diacritics folded.
            foreach (var search in new[] { "SELECT rowid FROM docs_fts WHERE docs_fts MATCH 'word350'", "SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'walonly'",
                "SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'changed'", "SELECT subject FROM notes WHERE notes MATCH 'creme'",
                "SELECT subject FROM notes WHERE notes MATCH 'write'" })
            {
                var found = await Sqlite3.QueryAsync(restored, search);
                found.ShouldBe(await Sqlite3.QueryAsync(database, search), search);
                found.ShouldNotBeOneOf("", "0");
            }
            (await Sqlite3.QueryAsync(restored, "SELECT hex(data) FROM blobs WHERE name = 'big'"))
                .ShouldBe(await Sqlite3.QueryAsync(database, "SELECT hex(data) FROM blobs WHERE name = 'big'"));
            (await Sqlite3.QueryAsync(restored, "PRAGMA foreign_key_check")).ShouldBeEmpty();
        }

        // A backup of the restored file holds the same rows by arca's own count and checksum.
        var (again, _) = await sandbox.BackupAsync("sqlite:" + asFile);
        SqliteSandbox.TablesOf(await sandbox.DatabaseNodeAsync("app-copy.db", again)).ShouldBe(tables);
    }
}
