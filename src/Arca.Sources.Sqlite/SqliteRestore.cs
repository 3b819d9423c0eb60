using System.Text.RegularExpressions;
using Arca.Repo;
using Arca.Restore;
using Arca.Trees;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Arca.Sources.Sqlite;

/// <summary>What a whole-file restore wrote, and what it proved of it.</summary>
public sealed record SqliteFileRestoreResult(string Target, long Bytes, int Tables, long Rows, bool Replaced);

/// <summary>
/// Restores a SQLite database of a snapshot: the whole file (written beside the target, proven whole, then moved
/// into place in one rename), or some tables' rows into a live database (the snapshot's file is attached to it,
/// and the rows merged by key as for every engine, see <see cref="TableMerge"/>).
/// </summary>
public sealed partial class SqliteRestore(IBlobLoader loader)
{
    private const string Attached = "arca_snapshot";
    private const string Stage = "temp.arca_rows";
    private const string Scope = "temp.arca_scope";
    private const string Foreign = "temp.arca_foreign";

    /// <summary>Fills <paramref name="table"/> (a temporary table with the live table's stored columns) with a foreign table's rows.</summary>
    public delegate Task StageFiller(SqliteConnection connection, string table, IReadOnlyList<TableColumn> columns, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the database file <paramref name="entry"/> holds to <paramref name="target"/>. An existing target is
    /// replaced only with <paramref name="replace"/> (and its journal and WAL go with it, so they can never be applied
    /// to the new file). Before the move, SQLite's integrity check must pass and every table must hold the rows
    /// the manifest counted and hashed.
    /// </summary>
    public async Task<SqliteFileRestoreResult> RestoreFileAsync(Node entry, string target, bool replace, CancellationToken cancellationToken)
    {
        var database = entry.Database!;
        target = Path.GetFullPath(target);
        if (Directory.Exists(target))
        {
            throw new ArcaException(ErrorCode.Usage, $"The target '{target}' is a folder; a database restores to a file.",
                $"Name the file: --target {Path.Combine(target, entry.Name)}.");
        }
        var exists = File.Exists(target);
        if (exists && !replace)
        {
            var users = ProcessesUsing(target);
            throw new ArcaException(ErrorCode.DatabaseInUse,
                users.Count > 0
                    ? $"The database {target} is open in {string.Join(", ", users)}; replacing it under a running writer loses what it writes next."
                    : $"The database {target} exists, and restoring replaces it.",
                users.Count > 0 ? "Stop the application first, then run the restore with --yes (or restore to another file)." : "Pass --yes to replace it, or restore to another file.");
        }
        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.arca-{Guid.NewGuid():N}.tmp");
        try
        {
            long bytes;
            await using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            await using (var content = new ContentReader(loader, entry.Content ?? []))
            {
                await content.CopyToAsync(output, 1 << 20, cancellationToken);
                bytes = output.Length;
                output.Flush(flushToDisk: true);
            }
            var rows = await Task.Run(() => Verify(temporary, database, database.Tables ?? [], integrity: true, cancellationToken), cancellationToken);
            File.SetUnixFileMode(temporary, (UnixFileMode)(entry.Mode & 0xFFF));
            File.SetLastWriteTimeUtc(temporary, DateTimeOffset.FromUnixTimeMilliseconds(entry.ModifyTimeNs / 1_000_000).UtcDateTime);
            if (exists)
            {
                // The old file's journal or WAL belongs to the old file: left beside the new one, SQLite would replay it there.
                foreach (var suffix in SqliteFile.CompanionSuffixes)
                {
                    File.Delete(target + suffix);
                }
            }
            File.Move(temporary, target, overwrite: true);
            return new SqliteFileRestoreResult(target, bytes, database.Tables?.Count ?? 0, rows, exists);
        }
        finally
        {
            SqliteFile.DeleteWithCompanions(temporary);
        }
    }

    /// <summary>
    /// Restores <paramref name="tables"/> of the database file <paramref name="entry"/> into the live database
    /// <paramref name="target"/>, in foreign-key order, each in one transaction.
    /// </summary>
    public async Task<List<TableRestoreResult>> RestoreTablesAsync(Node entry, IReadOnlyList<TableInfo> tables, SqliteLocation target,
        TableRestoreOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (options.Into is not null && tables.Count != 1)
        {
            throw new ArcaException(ErrorCode.Usage, "--into renames one table, and several were named.", "Restore one table at a time with --into.");
        }
        SqliteFile.CheckHeader(target.Path, target.Display);
        using var copy = await MaterializeAsync(entry, tables, cancellationToken);
        try
        {
            await using var connection = SqliteFile.Open(target.Path, SqliteOpenMode.ReadWrite, timeout);
            // Foreign keys are the application's rules: a restore obeys them too (SQLite leaves them off per connection).
            SqliteFile.Execute(connection, "PRAGMA foreign_keys = ON");
            SqliteFile.Execute(connection, $"ATTACH DATABASE {SqliteFile.Literal(copy.Path)} AS {Attached}");
            try
            {
                return await TableMerge.RestoreEachAsync(tables, t => t, options,
                    info => RestoreExplainedAsync(connection, target, info, null, options, cancellationToken), ex => Translated(ex, target, timeout));
            }
            finally
            {
                SqliteFile.Execute(connection, $"DETACH DATABASE {Attached}");
            }
        }
        catch (SqliteException ex) when (SqliteFile.Translate(ex, target.Display, timeout) is { } error)
        {
            throw error;
        }
    }

    /// <summary>
    /// Writes the database file of <paramref name="entry"/> to a temporary file and proves that <paramref name="tables"/> in
    /// it hold the rows backed up. The caller disposes the file.
    /// </summary>
    public async Task<TemporaryDatabase> MaterializeAsync(Node entry, IReadOnlyList<TableInfo> tables, CancellationToken cancellationToken)
    {
        var copy = TemporaryDatabase.Create();
        try
        {
            await using (var output = new FileStream(copy.Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            await using (var content = new ContentReader(loader, entry.Content ?? []))
            {
                await content.CopyToAsync(output, 1 << 20, cancellationToken);
            }
            await Task.Run(() => Verify(copy.Path, entry.Database!, tables, integrity: false, cancellationToken), cancellationToken);
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Restores tables backed up from another engine (PostgreSQL) into the live SQLite database <paramref name="target"/>:
    /// each table's rows are put in a temporary table shaped like the live one (so SQLite's column affinities apply as
    /// they would to the application's own writes), then merged as any table restore.
    /// </summary>
    public static async Task<List<TableRestoreResult>> RestoreForeignTablesAsync(IReadOnlyList<(TableInfo Info, StageFiller Fill)> tables, SqliteLocation target,
        TableRestoreOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (options.Into is not null && tables.Count != 1)
        {
            throw new ArcaException(ErrorCode.Usage, "--into renames one table, and several were named.", "Restore one table at a time with --into.");
        }
        SqliteFile.CheckHeader(target.Path, target.Display);
        try
        {
            await using var connection = SqliteFile.Open(target.Path, SqliteOpenMode.ReadWrite, timeout);
            SqliteFile.Execute(connection, "PRAGMA foreign_keys = ON");
            return await TableMerge.RestoreEachAsync(tables, t => t.Info, options,
                table => RestoreExplainedAsync(connection, target, table.Info, table.Fill, options, cancellationToken), ex => Translated(ex, target, timeout));
        }
        catch (SqliteException ex) when (SqliteFile.Translate(ex, target.Display, timeout) is { } error)
        {
            throw error;
        }
    }

    /// <summary>SQLite's error said as the restore's own, where it has words for it.</summary>
    private static Exception Translated(Exception ex, SqliteLocation target, TimeSpan timeout) =>
        ex is SqliteException sqlite && SqliteFile.Translate(sqlite, target.Display, timeout) is { } error ? error : ex;

    /// <summary><see cref="RestoreOneAsync"/>, with a refusal by the live database's constraints told as such.</summary>
    private static async Task<TableRestoreResult> RestoreExplainedAsync(SqliteConnection connection, SqliteLocation target, TableInfo info, StageFiller? fill,
        TableRestoreOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await RestoreOneAsync(connection, info, fill, options, cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteFile.Constraint)
        {
            // A foreign key, NOT NULL, UNIQUE or CHECK constraint of the live database refused the rows: its
            // rule, not a bug. The table's transaction was rolled back; tables restored before it stay restored (the
            // caller says which).
            throw new ArcaException(ErrorCode.DatabaseFailed,
                $"{target.Display} refused the rows of {info.Name}: SQLite reports '{SqliteFile.Words(ex)}'; none of them were written.",
                "Restore the tables they refer to as well (e.g. --table child,parent), or mend the live rows first.", ex);
        }
    }

    private static async Task<TableRestoreResult> RestoreOneAsync(SqliteConnection connection, TableInfo info, StageFiller? fill, TableRestoreOptions options,
        CancellationToken cancellationToken)
    {
        var into = options.Into is null ? info.Name : TableNameOf(options.Into);
        TableMerge.CheckMode(info, options, info.Name);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var live = SqliteCatalog.Find(connection, "main", into)
            ?? throw new ArcaException(ErrorCode.TableNotFound, $"The database has no table {into}.",
                "Create it first (a whole-file restore brings the schema), or name another with --into.");
        // From another engine, types are compared value by value as SQLite's affinities take the rows in.
        TableMerge.CheckColumns(info, live.Columns, live.Key, new HashSet<string>(), live.Name, compareTypes: fill is null);
        var target = $"main.{SqliteFile.Ident(live.Name)}";
        var columns = string.Join(", ", info.Columns.Select(c => SqliteFile.Ident(c.Name)));
        var stage = $"{Attached}.{SqliteFile.Ident(info.Name)}";
        if (fill is not null)
        {
            SqliteFile.Execute(connection, $"DROP TABLE IF EXISTS {Foreign}; CREATE TABLE {Foreign} AS SELECT {columns} FROM {target} WHERE false");
            await fill(connection, Foreign, [.. info.Columns.Select(c => live.Columns.First(l => l.Name == c.Name))], cancellationToken);
            stage = Foreign;
        }
        var liveScope = "true";
        if (options.Filter is { } filter)
        {
            // The filter is the user's SQL: it only ever runs inside one statement whose single write is into a
            // temporary table of Arca's, checked to be one statement before it runs.
            CheckOneStatement(connection, info, filter, stage);
            SqliteFile.Execute(connection, $"DROP TABLE IF EXISTS {Stage}; CREATE TABLE {Stage} AS SELECT {columns} FROM {stage} WHERE false");
            ExecuteFilter(connection, info, filter, $"INSERT INTO {Stage} SELECT {columns} FROM {stage} AS t WHERE (\n{filter}\n)");
            stage = Stage;
            if (options.Mode == TableRestoreMode.Replace)
            {
                var rowId = live.WithoutRowid ? string.Join(", ", live.Key.Select(k => "t." + SqliteFile.Ident(k))) : "t.rowid";
                SqliteFile.Execute(connection, $"DROP TABLE IF EXISTS {Scope}; CREATE TABLE {Scope} AS SELECT {rowId} FROM {target} AS t WHERE false");
                ExecuteFilter(connection, info, filter, $"INSERT INTO {Scope} SELECT {rowId} FROM {target} AS t WHERE (\n{filter}\n)");
                liveScope = $"({rowId}) IN (SELECT * FROM {Scope})";
            }
        }
        var merge = new TableMerge(connection, transaction, SqliteDialect.Instance, info, target, stage, liveScope);
        var result = await merge.RunAsync(options, ct => Task.FromResult(RebuildSearchIndexes(connection, live.Name)), cancellationToken);
        if (options.DryRun)
        {
            transaction.Rollback();
        }
        else
        {
            transaction.Commit();
        }
        SqliteFile.Execute(connection, $"DROP TABLE IF EXISTS {Stage}; DROP TABLE IF EXISTS {Scope}; DROP TABLE IF EXISTS {Foreign}");
        return result with { Table = info.Name, Target = live.Name };
    }

    /// <summary>
    /// Rebuilds the FTS5 indexes over <paramref name="table"/> (external content) that no trigger on it keeps up to
    /// date: their application updates them by hand, and rows restored behind its back would be missing from searches.
    /// Indexes kept by triggers were kept by them during the merge.
    /// </summary>
    private static IReadOnlyList<string> RebuildSearchIndexes(SqliteConnection connection, string table)
    {
        var rebuilt = new List<string>();
        var indexes = new List<string>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name, sql FROM main.sqlite_schema WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (ContentTableOf(reader.GetString(1)) is { } content && string.Equals(content, table, StringComparison.OrdinalIgnoreCase))
                {
                    indexes.Add(reader.GetString(0));
                }
            }
        }
        foreach (var index in indexes)
        {
            using var triggers = connection.CreateCommand();
            triggers.CommandText = "SELECT count(*) FROM main.sqlite_schema WHERE type = 'trigger' AND tbl_name = $table COLLATE NOCASE AND instr(lower(sql), lower($index)) > 0";
            triggers.Parameters.AddWithValue("$table", table);
            triggers.Parameters.AddWithValue("$index", index);
            if (Convert.ToInt64(triggers.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                SqliteFile.Execute(connection, $"INSERT INTO main.{SqliteFile.Ident(index)}({SqliteFile.Ident(index)}) VALUES ('rebuild')");
                rebuilt.Add($"FTS5 index {index} rebuilt (no trigger keeps it up to date)");
            }
        }
        return rebuilt;
    }

    /// <summary>
    /// The content table an FTS5 table's CREATE statement names (content=NAME), or null. FTS5 takes the name bare or
    /// quoted as SQL quotes it ('...', "...", `...` with the quote doubled inside, or [...]), so a name may hold spaces.
    /// </summary>
    private static string? ContentTableOf(string sql)
    {
        var match = ContentOption().Match(sql);
        if (!match.Success)
        {
            return null;
        }
        var quoted = match.Groups["quoted"].Value;
        return match.Groups["bracketed"].Success ? match.Groups["bracketed"].Value
            : match.Groups["bare"].Success ? match.Groups["bare"].Value
            : quoted[1..^1].Replace(new string(quoted[0], 2), quoted[0].ToString(), StringComparison.Ordinal);
    }

    [GeneratedRegex("""\bcontent\s*=\s*(?:(?<quoted>'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`)|\[(?<bracketed>[^\]]*)\]|(?<bare>[^\s,)]+))""", RegexOptions.IgnoreCase)]
    private static partial Regex ContentOption();

    /// <summary>
    /// Refuses a filter that holds more than one statement ("1; DELETE FROM t"). Inside the parentheses that wrap
    /// it for running, a second statement is only a syntax error, reported as a bad condition; so the filter is first
    /// prepared (never run) as the condition of a plain SELECT on <paramref name="relation"/>, where a second
    /// statement shows as text left over after the first. A first part that does not compile is left to the
    /// wrapped statement to report.
    /// </summary>
    private static void CheckOneStatement(SqliteConnection connection, TableInfo info, string filter, string relation)
    {
        var db = connection.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, $"SELECT 1 FROM {relation} AS t WHERE {filter}\n", out var statement, out var tail);
        statement.Dispose();
        if (rc != raw.SQLITE_OK || string.IsNullOrWhiteSpace(tail))
        {
            return;
        }
        // Left over after the first statement: nothing but comments compiles to no statement at all.
        rc = raw.sqlite3_prepare_v2(db, tail, out var rest, out _);
        using (rest)
        {
            if (rc == raw.SQLITE_OK && rest.IsInvalid)
            {
                return;
            }
        }
        throw new ArcaException(ErrorCode.FilterWrites, $"The row filter for {info.Name} holds more than one SQL statement; nothing was run.",
            "Write one condition on the table's columns, without ';'.");
    }

    /// <summary>Runs a statement holding the user's filter, refusing anything but exactly one statement.</summary>
    private static void ExecuteFilter(SqliteConnection connection, TableInfo info, string filter, string sql)
    {
        var db = connection.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement, out var tail);
        using (statement)
        {
            if (rc != raw.SQLITE_OK)
            {
                throw new ArcaException(ErrorCode.InvalidFilter, $"The row filter for {info.Name} is not valid SQL here: {raw.sqlite3_errmsg(db).utf8_to_string()}.",
                    "Write a condition on the table's columns, e.g. --where \"id > 100\".");
            }
            if (!string.IsNullOrWhiteSpace(tail))
            {
                throw new ArcaException(ErrorCode.FilterWrites, $"The row filter for {info.Name} holds more than one SQL statement; nothing was run.",
                    "Write one condition on the table's columns, without ';'.");
            }
            rc = raw.sqlite3_step(statement);
            if (rc != raw.SQLITE_DONE)
            {
                throw new ArcaException(ErrorCode.InvalidFilter, $"The row filter for {info.Name} failed: {raw.sqlite3_errmsg(db).utf8_to_string()}.",
                    "Write a condition on the table's columns, e.g. --where \"id > 100\".");
            }
        }
    }

    /// <summary>A table name as the user wrote it: NAME or main.NAME.</summary>
    public static string TableNameOf(string name) => name.StartsWith("main.", StringComparison.OrdinalIgnoreCase) ? name[5..] : name;

    /// <summary>
    /// Proves that the database file at <paramref name="path"/> holds <paramref name="tables"/> as the manifest recorded
    /// them (row counts and checksums), and with <paramref name="integrity"/> that SQLite's integrity check passes.
    /// Returns the rows counted.
    /// </summary>
    private static long Verify(string path, DatabaseInfo database, IReadOnlyList<TableInfo> tables, bool integrity, CancellationToken cancellationToken)
    {
        using var connection = SqliteFile.Open(path, SqliteOpenMode.ReadWrite, TimeSpan.FromSeconds(5));
        if (integrity && SqliteFile.Scalar(connection, "PRAGMA integrity_check(1)") is not "ok")
        {
            throw new ArcaException(ErrorCode.RepositoryDamaged, $"The copy of {database.Name} read from the snapshot fails SQLite's integrity check; nothing was written.",
                "Run 'arca check --read-data' to find the damage.");
        }
        long rows = 0;
        foreach (var table in tables)
        {
            var (count, checksum) = RowChecksum.Compute(connection, "main", table.Name, [.. table.Columns.Select(c => c.Name)], cancellationToken);
            if (count != table.Rows || checksum != table.Checksum)
            {
                throw new ArcaException(ErrorCode.RepositoryDamaged,
                    $"The rows of {table.Name} read from the snapshot do not match its manifest ({count:N0} rows, {table.Rows:N0} recorded); nothing was written.",
                    "Run 'arca check --read-data' to find the damage.");
            }
            rows += count;
        }
        return rows;
    }

    /// <summary>Processes (pid and name) that have <paramref name="path"/> or its WAL open, from /proc.</summary>
    private static List<string> ProcessesUsing(string path)
    {
        var found = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal) { path, path + "-wal" };
        try
        {
            foreach (var process in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(process), out var pid) || pid == Environment.ProcessId)
                {
                    continue;
                }
                try
                {
                    if (Directory.EnumerateFileSystemEntries(Path.Combine(process, "fd")).Any(fd => new FileInfo(fd).LinkTarget is { } t && names.Contains(t)))
                    {
                        var name = File.ReadAllText(Path.Combine(process, "comm")).Trim();
                        found.Add($"{name} (pid {pid})");
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // A process that ended meanwhile, or one we may not look into.
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return found;
    }
}

/// <summary>SQLite's spelling of the SQL a table merge uses.</summary>
internal sealed class SqliteDialect : ISqlDialect
{
    public static SqliteDialect Instance { get; } = new();

    public string Ident(string name) => SqliteFile.Ident(name);

    public string Literal(string text) => SqliteFile.Literal(text);

    public string Text(string expression) => $"CAST({expression} AS TEXT)";

    // IS NOT: NULLs equal, and values compared as SQLite stores them (1 and '1' differ, as their types do).
    public string Differs(IReadOnlyList<string> columns, string left, string right) =>
        "(" + string.Join(" OR ", columns.Select(c => $"{left}.{c} IS NOT {right}.{c}")) + ")";

    public string Only => "";

    public string Overriding => "";
}
