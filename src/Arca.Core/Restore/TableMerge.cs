using System.Data.Common;
using System.Globalization;
using Arca.Trees;

namespace Arca.Restore;

/// <summary>The few places where the SQL of a table merge differs between engines.</summary>
public interface ISqlDialect
{
    string Ident(string name);
    string Literal(string text);
    /// <summary>A value as text, for listing sample keys.</summary>
    string Text(string expression);
    /// <summary>True when any of <paramref name="columns"/> differs between the rows aliased <paramref name="left"/> and <paramref name="right"/> (NULLs equal).</summary>
    string Differs(IReadOnlyList<string> columns, string left, string right);
    /// <summary>What reads a table without its inheritance children ("ONLY " in PostgreSQL).</summary>
    string Only { get; }
    /// <summary>What lets an INSERT write identity columns ("OVERRIDING SYSTEM VALUE " in PostgreSQL).</summary>
    string Overriding { get; }
}

/// <summary>
/// Restores one table's rows into a live table by primary key, the same way for every engine: the snapshot's
/// rows are staged where the live database can join them (a temporary table, an attached copy), compared with the
/// live table (rows to insert, to update, unchanged, and for replace to delete, with samples), then merged by
/// set-based SQL, and compared again to prove the table now holds what the mode promises. The caller owns the
/// connection and the transaction: it stages the rows, commits after <see cref="RunAsync"/>, or rolls back.
/// <para>
/// The whole tables are compared once: the keys of the rows to insert or update are kept (<see cref="Changes"/>),
/// and the merge and the check after it read only those. Comparing a million rows costs about 4 s on the bench
/// fixture (their text forms, joined by key); the merge did it again row by row (ON CONFLICT ... WHERE they differ)
/// and the check a third time, where a restore after a bad cleanup changes a few percent of them. What the check no
/// longer sees is a row that was equal before the merge and differs after it: that takes another session's write
/// meanwhile, or a trigger that changes other rows than its own.
/// </para>
/// </summary>
/// <param name="target">The live table, quoted (and qualified) for SQL.</param>
/// <param name="stage">The relation holding the snapshot's rows to restore, with the snapshot's column names.</param>
/// <param name="liveScope">A condition on the live rows (alias t) that a replace may delete; "true" for the whole table.</param>
public sealed class TableMerge(DbConnection connection, DbTransaction transaction, ISqlDialect sql, TableInfo info, string target, string stage,
    string liveScope = "true")
{
    /// <summary>
    /// Compares, and unless <paramref name="options"/> asks for a dry run, merges and verifies. <paramref name="afterApply"/>
    /// runs after the merge and before the check (moving counters past the new keys); it returns what it did.
    /// </summary>
    public async Task<TableRestoreResult> RunAsync(TableRestoreOptions options, Func<CancellationToken, Task<IReadOnlyList<string>>>? afterApply,
        CancellationToken cancellationToken)
    {
        if (info.Key.Count > 0)
        {
            var keyless = await CountAsync($"SELECT count(*) FROM {stage} AS s WHERE {string.Join(" OR ", info.Key.Select(k => $"s.{sql.Ident(k)} IS NULL"))}", cancellationToken);
            if (keyless > 0)
            {
                // SQLite lets a primary key other than an INTEGER one hold NULL; such a row matches no live row, not even itself.
                throw new ArcaException(ErrorCode.TableMismatch,
                    $"{keyless} rows of {info.QualifiedName} in the snapshot have no value in its primary key ({string.Join(", ", info.Key)}), so they cannot be matched with live rows.",
                    "Restore the table --into an empty copy with --mode replace, or restore the whole database file.");
            }
            await FindChangesAsync(cancellationToken);
        }
        var before = await CompareAsync(options.Mode, options.SampleSize, cancellationToken);
        if (options.DryRun)
        {
            return before;
        }
        var rowsBefore = await CountAsync($"SELECT count(*) FROM {sql.Only}{target}", cancellationToken);
        var (deleted, inserted) = await ApplyAsync(options.Mode, cancellationToken);
        var moved = afterApply is null ? [] : await afterApply(cancellationToken);
        var after = info.Key.Count == 0 ? null : await CompareAsync(options.Mode, 0, cancellationToken);
        if (info.Key.Count > 0)
        {
            await ExecuteAsync($"DROP TABLE {Changes}", cancellationToken);
        }
        // Without a key there is nothing to match rows by: the check is that every snapshot row went in and the
        // table holds exactly what was left plus what was added.
        var verified = after is null
            ? inserted == before.SnapshotRows && await CountAsync($"SELECT count(*) FROM {sql.Only}{target}", cancellationToken) == rowsBefore - deleted + inserted
            : after.Insert == 0 && (options.Mode == TableRestoreMode.InsertMissing || after.Update == 0) && (options.Mode != TableRestoreMode.Replace || after.Delete == 0);
        if (!verified)
        {
            throw new ArcaException(ErrorCode.DatabaseFailed,
                $"After restoring {info.QualifiedName} into {target}, the table still differs from the snapshot ({after?.Insert} rows missing, {after?.Update} differing); nothing was changed.",
                "A trigger or rule on the table may rewrite rows: check them, or restore --into a plain copy of the table.");
        }
        return before with { Applied = true, Verified = true, Adjustments = moved };
    }

    /// <summary>
    /// A temporary table of the keys of the snapshot's rows that the live table lacks (<c>arca_missing</c>) or holds with
    /// other values, made by <see cref="FindChangesAsync"/>.
    /// </summary>
    private const string Changes = "arca_changes";

    private string KeyMatch => string.Join(" AND ", info.Key.Select(k => $"t.{sql.Ident(k)} = s.{sql.Ident(k)}"));

    /// <summary>
    /// Limits the staged rows (alias s) to those <see cref="FindChangesAsync"/> found, or to those it found missing. As IN,
    /// not a correlated EXISTS: SQLite would scan the unindexed keys once per staged row.
    /// </summary>
    private string Changed(bool missingOnly = false) =>
        $"({string.Join(", ", info.Key.Select(k => $"s.{sql.Ident(k)}"))}) IN " +
        $"(SELECT {string.Join(", ", info.Key.Select(k => $"c.{sql.Ident(k)}"))} FROM {Changes} AS c{(missingOnly ? " WHERE c.arca_missing" : "")})";

    /// <summary>Compares every staged row with the live table, once, and keeps the keys of those to write (<see cref="Changes"/>).</summary>
    private async Task FindChangesAsync(CancellationToken cancellationToken)
    {
        var firstKey = $"t.{sql.Ident(info.Key[0])}";
        await ExecuteAsync(
            $"CREATE TEMP TABLE {Changes} AS SELECT {string.Join(", ", info.Key.Select(k => $"s.{sql.Ident(k)}"))}, {firstKey} IS NULL AS arca_missing " +
            $"FROM {stage} AS s LEFT JOIN {sql.Only}{target} AS t ON {KeyMatch} WHERE {firstKey} IS NULL OR {ValuesDiffer("s", "t")}", cancellationToken);
    }

    private List<string> ValueColumns => [.. info.Columns.Where(c => !info.Key.Contains(c.Name)).Select(c => sql.Ident(c.Name))];

    private string ValuesDiffer(string left, string right) => ValueColumns is { Count: > 0 } columns ? sql.Differs(columns, left, right) : "false";

    private async Task<TableRestoreResult> CompareAsync(TableRestoreMode mode, int sampleSize, CancellationToken cancellationToken)
    {
        var total = await CountAsync($"SELECT count(*) FROM {stage} AS s", cancellationToken);
        if (info.Key.Count == 0)
        {
            var liveRows = await CountAsync($"SELECT count(*) FROM {sql.Only}{target} AS t WHERE {liveScope}", cancellationToken);
            return new TableRestoreResult { Table = info.QualifiedName, Target = target, SnapshotRows = total, Insert = total, Delete = liveRows };
        }
        // The rows found to write, as the live table holds them now: before the merge, all of them; after it, none
        // (insert-missing leaves the differing ones).
        var firstKey = $"t.{sql.Ident(info.Key[0])}";
        var differs = ValuesDiffer("s", "t");
        long insert, update;
        await using (var command = Command(
            $"SELECT count(*) FILTER (WHERE {firstKey} IS NULL), count(*) FILTER (WHERE {firstKey} IS NOT NULL AND {differs}) " +
            $"FROM {stage} AS s LEFT JOIN {sql.Only}{target} AS t ON {KeyMatch} WHERE {Changed()}"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            insert = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
            update = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
        }
        var missing = $"NOT EXISTS (SELECT 1 FROM {stage} AS s WHERE {KeyMatch})";
        var delete = mode == TableRestoreMode.Replace
            ? await CountAsync($"SELECT count(*) FROM {sql.Only}{target} AS t WHERE {liveScope} AND {missing}", cancellationToken)
            : 0;
        string KeyText(string alias) => string.Join(" || ', ' || ", info.Key.Select(k => $"{sql.Literal(k + "=")} || {sql.Text($"{alias}.{sql.Ident(k)}")}"));
        var sampleInsert = sampleSize > 0 && insert > 0 ? await ListAsync(
            $"SELECT {KeyText("c")} FROM {Changes} AS c WHERE c.arca_missing LIMIT {sampleSize}", cancellationToken) : [];
        var sampleUpdate = sampleSize > 0 && update > 0 ? await ListAsync(
            $"SELECT {KeyText("c")} FROM {Changes} AS c WHERE NOT c.arca_missing LIMIT {sampleSize}", cancellationToken) : [];
        var sampleDelete = sampleSize > 0 && delete > 0 ? await ListAsync(
            $"SELECT {KeyText("t")} FROM {sql.Only}{target} AS t WHERE {liveScope} AND {missing} LIMIT {sampleSize}", cancellationToken) : [];
        return new TableRestoreResult
        {
            Table = info.QualifiedName,
            Target = target,
            SnapshotRows = total,
            Insert = insert,
            Update = update,
            Unchanged = total - insert - update,
            Delete = delete,
            SampleInsert = sampleInsert,
            SampleUpdate = sampleUpdate,
            SampleDelete = sampleDelete,
        };
    }

    private async Task<(long Deleted, long Inserted)> ApplyAsync(TableRestoreMode mode, CancellationToken cancellationToken)
    {
        var columns = info.Columns.Select(c => sql.Ident(c.Name)).ToList();
        var columnList = string.Join(", ", columns);
        // "WHERE true" before ON CONFLICT: SQLite's parser needs it there, and it changes nothing elsewhere.
        // A table of no columns (PostgreSQL allows one) takes no column list: "()" is a syntax error.
        var insert = $"INSERT INTO {target} AS t {(columns.Count > 0 ? $"({columnList}) " : "")}{sql.Overriding}SELECT {string.Join(", ", columns.Select(c => "s." + c))} FROM {stage} AS s WHERE true";
        long deleted = 0, inserted = 0;
        if (mode == TableRestoreMode.Replace)
        {
            deleted = await ExecuteAsync(info.Key.Count == 0
                ? $"DELETE FROM {sql.Only}{target} AS t WHERE {liveScope}"
                : $"DELETE FROM {sql.Only}{target} AS t WHERE {liveScope} AND NOT EXISTS (SELECT 1 FROM {stage} AS s WHERE {KeyMatch})", cancellationToken);
        }
        if (info.Key.Count == 0)
        {
            inserted = await ExecuteAsync(insert, cancellationToken);
        }
        else if (mode == TableRestoreMode.InsertMissing)
        {
            inserted = await ExecuteAsync($"{insert} AND {Changed(missingOnly: true)} AND NOT EXISTS (SELECT 1 FROM {sql.Only}{target} AS t WHERE {KeyMatch})", cancellationToken);
        }
        else
        {
            var conflict = string.Join(", ", info.Key.Select(sql.Ident));
            var update = ValueColumns is { Count: > 0 } valueColumns
                ? $"DO UPDATE SET {string.Join(", ", valueColumns.Select(c => $"{c} = EXCLUDED.{c}"))} WHERE {ValuesDiffer("t", "EXCLUDED")}"
                : "DO NOTHING";
            inserted = await ExecuteAsync($"{insert} AND {Changed()} ON CONFLICT ({conflict}) {update}", cancellationToken);
        }
        return (deleted, inserted);
    }

    /// <summary>
    /// Refuses a mode that cannot do what it says with this table, before anything is read or written: matching rows
    /// needs a primary key; a replace of rows the backup filtered would delete every live row outside its filter; and a
    /// replace without a key deletes and inserts whole rows, which would empty the columns the backup left out.
    /// </summary>
    public static void CheckMode(TableInfo info, TableRestoreOptions options, string table)
    {
        if (info.Key.Count == 0 && options.Mode != TableRestoreMode.Replace)
        {
            throw new ArcaException(ErrorCode.Usage, $"{table} has no primary key in the snapshot, so its rows cannot be matched with live ones.",
                "Use --mode replace to make the table what the snapshot holds.");
        }
        if (options.Mode != TableRestoreMode.Replace)
        {
            return;
        }
        if (info.Filter is { } filter && options.Filter is null)
        {
            throw new ArcaException(ErrorCode.Usage,
                $"{table} was backed up with a row filter ({filter}), so a replace would delete every live row outside it.",
                "Say which live rows the snapshot replaces with --where (the backup's filter, if it still picks them), or use --mode upsert.");
        }
        if (info.Key.Count == 0 && info.ExcludedColumns is { Count: > 0 } excluded)
        {
            throw new ArcaException(ErrorCode.Usage,
                $"{table} has no primary key and was backed up without {string.Join(", ", excluded)}: a replace rewrites whole rows and would empty those columns.",
                "Restore --into a new table created like it, or give the table a primary key so that rows can be matched.");
        }
    }

    /// <summary>
    /// Restores each table in foreign-key order, each in a transaction of its own. When one fails after others were
    /// committed, the error says which stay restored: the target holds them, whatever the failure's own words say.
    /// </summary>
    public static async Task<List<TableRestoreResult>> RestoreEachAsync<T>(IReadOnlyList<T> tables, Func<T, TableInfo> infoOf, TableRestoreOptions options,
        Func<T, Task<TableRestoreResult>> restoreOne, Func<Exception, Exception>? translate = null)
    {
        var results = new List<TableRestoreResult>();
        try
        {
            foreach (var table in ForeignKeyOrder(tables, infoOf))
            {
                results.Add(await restoreOne(table));
            }
        }
        catch (Exception ex) when (!options.DryRun && results.Count > 0 && (translate?.Invoke(ex) ?? ex) is ArcaException error)
        {
            var committed = string.Join(", ", results.Select(r => r.Target));
            throw new ArcaException(error.Code, error.Message,
                $"{committed} {(results.Count == 1 ? "was" : "were")} restored and committed before this failed, and {(results.Count == 1 ? "stays" : "stay")} so. {error.Hint}", ex);
        }
        return results;
    }

    /// <summary>
    /// Checks that the live table can take the snapshot's rows: every stored column is there (<paramref name="live"/>: all its
    /// columns, generated ones too) with the same type (unless <paramref name="compareTypes"/> is false: rows from another
    /// engine, converted value by value) and is not generated, and the primary key is the same. Throws naming every difference.
    /// </summary>
    public static void CheckColumns(TableInfo info, IReadOnlyList<TableColumn> live, IReadOnlyList<string> liveKey, ISet<string> generated, string into,
        bool compareTypes = true)
    {
        var problems = new List<string>();
        foreach (var column in info.Columns)
        {
            var match = live.FirstOrDefault(c => c.Name == column.Name);
            if (match is null)
            {
                problems.Add($"'{column.Name}' is missing");
            }
            else if (generated.Contains(column.Name))
            {
                problems.Add($"'{column.Name}' is now generated");
            }
            else if (compareTypes && !string.Equals(match.Type, column.Type, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"'{column.Name}' is {match.Type}, not {column.Type}");
            }
        }
        if (info.Key.Count > 0 && !info.Key.SequenceEqual(liveKey))
        {
            problems.Add($"its primary key is ({string.Join(", ", liveKey)}), not ({string.Join(", ", info.Key)})");
        }
        if (problems.Count > 0)
        {
            throw new ArcaException(ErrorCode.TableMismatch,
                $"The live table {into} no longer matches the snapshot's {info.QualifiedName}: {string.Join("; ", problems)}.",
                "Restore into a table with the snapshot's columns (--into a new table created like it), or migrate the table back first.");
        }
    }

    /// <summary>Referenced tables first, so that rows referring to restored rows find them.</summary>
    public static List<T> ForeignKeyOrder<T>(IReadOnlyList<T> tables, Func<T, TableInfo> infoOf)
    {
        var byName = tables.ToDictionary(t => infoOf(t).QualifiedName, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var order = new List<T>();
        void Visit(T table, HashSet<string> path)
        {
            var info = infoOf(table);
            if (done.Contains(info.QualifiedName) || !path.Add(info.QualifiedName))
            {
                return; // Done, or a cycle: the cycle's order is as good as any.
            }
            foreach (var reference in info.References ?? [])
            {
                if (byName.TryGetValue(reference.Contains('.') ? reference : $"{info.Schema}.{reference}", out var referenced))
                {
                    Visit(referenced, path);
                }
            }
            done.Add(info.QualifiedName);
            order.Add(table);
        }
        foreach (var table in tables.OrderBy(t => infoOf(t).QualifiedName, StringComparer.Ordinal))
        {
            Visit(table, []);
        }
        return order;
    }

    private DbCommand Command(string text)
    {
        var command = connection.CreateCommand();
        command.CommandText = text;
        command.Transaction = transaction;
        return command;
    }

    private async Task<long> ExecuteAsync(string text, CancellationToken cancellationToken)
    {
        await using var command = Command(text);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<long> CountAsync(string text, CancellationToken cancellationToken)
    {
        await using var command = Command(text);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private async Task<List<string>> ListAsync(string text, CancellationToken cancellationToken)
    {
        var list = new List<string>();
        await using var command = Command(text);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(reader.GetString(0));
        }
        return list;
    }
}
