using Microsoft.Data.Sqlite;

namespace Arca.Sqlite.Tests;

/// <summary>
/// A database with every feature an application uses: foreign keys (with a cascade), an AUTOINCREMENT table whose
/// counter is ahead of its rows, generated columns (virtual and stored), WITHOUT ROWID tables, an index, a view,
/// triggers, an external-content FTS5 index kept by triggers and a plain FTS5 table, NULLs, reals, unicode text,
/// and BLOBs from empty to 300 KiB (spanning overflow pages). In WAL mode, with its later part still in the
/// -wal file: the connection that wrote it stays open and never checkpoints.
/// </summary>
internal static class AppDatabase
{
    /// <summary>The ordinary tables, as arca lists them (not FTS5 tables nor their shadow tables, not sqlite_sequence).</summary>
    public static readonly string[] Tables = ["audit", "authors", "blobs", "books", "docs", "tags"];

    /// <summary>The first part: schema and rows, checkpointed into the database file.</summary>
    private const string FirstPart = """
        PRAGMA journal_mode = WAL;
        PRAGMA foreign_keys = ON;
        CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, born REAL);
        CREATE TABLE books (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            author_id INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            price REAL,
            pages INTEGER,
            price_cents INTEGER GENERATED ALWAYS AS (CAST(round(price * 100) AS INTEGER)) VIRTUAL,
            title_upper TEXT GENERATED ALWAYS AS (upper(title)) STORED,
            cover BLOB);
        CREATE INDEX books_author ON books(author_id);
        CREATE TABLE tags (
            book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            weight REAL,
            PRIMARY KEY (book_id, tag)) WITHOUT ROWID;
        CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
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
        CREATE VIRTUAL TABLE notes USING fts5(subject, text, tokenize = 'unicode61 remove_diacritics 2');
        CREATE TABLE audit (id INTEGER PRIMARY KEY, book_id INTEGER NOT NULL, what TEXT NOT NULL);
        CREATE TRIGGER books_audit AFTER INSERT ON books BEGIN
            INSERT INTO audit (book_id, what) VALUES (new.id, 'added ' || new.title);
        END;
        CREATE VIEW book_list AS
            SELECT b.id, a.name AS author, b.title, b.price_cents FROM books AS b JOIN authors AS a ON a.id = b.author_id;
        CREATE TABLE blobs (name TEXT PRIMARY KEY, data BLOB) WITHOUT ROWID;

        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
        INSERT INTO authors (id, name, born)
            SELECT i, 'Autor ' || i || ' — Ünïcødé ✓ 日本語 🐘', CASE WHEN i % 5 = 0 THEN NULL ELSE 1900.5 + i / 3.0 END FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
        INSERT INTO books (author_id, title, price, pages, cover)
            SELECT 1 + i % 50, 'Title ' || i || ' «ñ» ' || char(0x1F4DA),
                   CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.37 END,
                   CASE WHEN i % 11 = 0 THEN NULL ELSE i * 3 END,
                   CASE WHEN i % 3 = 0 THEN NULL ELSE randomblob(100 + i) END
            FROM n;
        -- The counter stays at 500 with the last rows gone: a restore must keep it there.
        DELETE FROM books WHERE id % 97 = 0 OR id > 495;
        INSERT INTO tags SELECT id, 'tag' || (id % 4), id / 10.0 FROM books;
        INSERT INTO tags SELECT id, 'ünï', NULL FROM books WHERE id % 2 = 0;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
        INSERT INTO docs (id, title, body)
            SELECT i, 'doc ' || i, 'body text word' || i || ' café naïve Ελληνικά ' || hex(randomblob(20)) FROM n;
        INSERT INTO notes (subject, text) VALUES ('Crème brûlée', 'remove diacritics please'), ('a NULL text', NULL), ('日本語', 'テキスト');
        INSERT INTO blobs VALUES ('empty', x''), ('null', NULL), ('small', x'00ff00ff'), ('first big', randomblob(100000));
        """;

    /// <summary>The later part, left in the -wal file: new rows (through the triggers), changes, deletions, a 300 KiB BLOB.</summary>
    private const string LaterPart = """
        WITH RECURSIVE n(i) AS (SELECT 301 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
        INSERT INTO docs (id, title, body) SELECT i, 'later doc ' || i, 'walonly word' || i || ' ' || hex(randomblob(30)) FROM n;
        UPDATE docs SET body = body || ' changed in the wal' WHERE id % 25 = 0;
        DELETE FROM docs WHERE id % 33 = 0;
        INSERT INTO books (author_id, title, price, pages, cover) VALUES (7, 'Later book', 12.5, 300, randomblob(70000));
        INSERT INTO tags VALUES (last_insert_rowid(), 'later', 0.5);
        DELETE FROM authors WHERE id = 50;
        INSERT INTO notes (subject, text) VALUES ('walonly note', 'only in the write-ahead log');
        INSERT INTO blobs VALUES ('big', randomblob(300000)), ('zeros', zeroblob(70000));
        """;

    /// <summary>
    /// Creates the database at <paramref name="path"/> and returns the connection that wrote it, still open: while
    /// it is, the later part stays in the -wal file (SQLite checkpoints when the last connection closes).
    /// </summary>
    public static SqliteConnection CreateWithWal(string path)
    {
        var connection = Connections.Open(path);
        connection.Execute(FirstPart);
        connection.Execute("PRAGMA wal_checkpoint(TRUNCATE)");
        connection.Execute("PRAGMA wal_autocheckpoint = 0");
        connection.Execute(LaterPart);
        return connection;
    }
}
