using System.Security.Cryptography;
using Arca.Repo;
using Arca.Restore;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

public enum TableRestoreMode
{
    /// <summary>Insert the snapshot's rows whose key the live table lacks; leave every live row alone.</summary>
    InsertMissing,
    /// <summary>Insert missing rows and overwrite live rows that differ from the snapshot's (by key).</summary>
    Upsert,
    /// <summary>Make the table (or the rows matching the filter) what the snapshot holds: also delete live rows it lacks.</summary>
    Replace,
}

public sealed record TableRestoreOptions
{
    public TableRestoreMode Mode { get; init; } = TableRestoreMode.InsertMissing;
    public bool DryRun { get; init; }
    /// <summary>Restore into this table instead of the one the rows came from (one table only).</summary>
    public string? Into { get; init; }
    /// <summary>Restore only the snapshot's rows matching this SQL condition (in replace mode, delete only live rows matching it).</summary>
    public string? Filter { get; init; }
    public int SampleSize { get; init; } = 5;
}

/// <summary>What a table restore found (and, unless it was a dry run, did), by primary key.</summary>
public sealed record TableRestoreResult
{
    public required string Table { get; init; }
    public required string Target { get; init; }
    public long SnapshotRows { get; init; }
    public long Insert { get; init; }
    public long Update { get; init; }
    public long Unchanged { get; init; }
    public long Delete { get; init; }
    public IReadOnlyList<string> SampleInsert { get; init; } = [];
    public IReadOnlyList<string> SampleUpdate { get; init; } = [];
    public IReadOnlyList<string> SampleDelete { get; init; } = [];
    public bool Applied { get; init; }
    /// <summary>After applying: every snapshot row the mode promises is in the table (compared again by key and value).</summary>
    public bool Verified { get; init; }
    public IReadOnlyList<string> SequencesMoved { get; init; } = [];
}

/// <summary>
/// Restores tables of a snapshot into a live database. Each table's rows are loaded into a temporary table
/// (checked against the snapshot's checksum on the way), compared with the live table by primary key, and
/// merged by set-based SQL in one transaction per table; tables go in foreign-key order. A dry run does the
/// same comparison and rolls back.
/// </summary>
public sealed class TableRestore(IBlobLoader loader)
{
    private const string Stage = "arca_rows";
    private const string Scope = "arca_scope";

    public async Task<List<TableRestoreResult>> RunAsync(PostgresLocation target, IReadOnlyList<Node> tables, TableRestoreOptions options,
        CancellationToken cancellationToken)
    {
        if (options.Into is not null && tables.Count != 1)
        {
            throw new ArcaException(ErrorCode.Usage, "--into renames one table, and several were named.", "Restore one table at a time with --into.");
        }
        var results = new List<TableRestoreResult>();
        try
        {
            foreach (var node in ForeignKeyOrder(tables))
            {
                results.Add(await RestoreOneAsync(target, node, options, cancellationToken));
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.Translate(ex, target) is { } error)
        {
            throw error;
        }
        return results;
    }

    /// <summary>Referenced tables first, so that rows referring to restored rows find them.</summary>
    internal static List<Node> ForeignKeyOrder(IReadOnlyList<Node> tables)
    {
        var byName = tables.ToDictionary(t => t.Table!.QualifiedName, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var order = new List<Node>();
        void Visit(Node node, HashSet<string> path)
        {
            var name = node.Table!.QualifiedName;
            if (done.Contains(name) || !path.Add(name))
            {
                return; // Done, or a cycle: the cycle's order is as good as any.
            }
            foreach (var reference in node.Table.References ?? [])
            {
                if (byName.TryGetValue(reference, out var referenced))
                {
                    Visit(referenced, path);
                }
            }
            done.Add(name);
            order.Add(node);
        }
        foreach (var table in tables.OrderBy(t => t.Table!.QualifiedName, StringComparer.Ordinal))
        {
            Visit(table, []);
        }
        return order;
    }

    private async Task<TableRestoreResult> RestoreOneAsync(PostgresLocation target, Node node, TableRestoreOptions options, CancellationToken cancellationToken)
    {
        var info = node.Table!;
        var source = new TableName(info.Schema, info.Name);
        var into = options.Into is null ? source : TableName.Parse(options.Into);
        if (info.Key.Count == 0 && options.Mode != TableRestoreMode.Replace)
        {
            throw new ArcaException(ErrorCode.Usage, $"{source} has no primary key in the snapshot, so its rows cannot be matched with live ones.",
                "Use --mode replace to make the table what the snapshot holds.");
        }
        await using var connection = await PostgresErrors.OpenAsync(target, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var live = await PostgresCatalog.FindTableAsync(connection, into, cancellationToken)
            ?? throw new ArcaException(ErrorCode.TableNotFound, $"The database {target.Display} has no table {into}.",
                "Create it first (a whole-database restore brings the schema), or name another with --into.");
        CheckColumns(info, live, into);

        var columns = info.Columns.Select(c => TableName.Ident(c.Name)).ToList();
        var columnList = string.Join(", ", columns);
        await PostgresErrors.ExecuteAsync(connection, $"CREATE TEMP TABLE {Stage} ON COMMIT DROP AS SELECT {columnList} FROM ONLY {into.Sql} WITH NO DATA", cancellationToken);
        await LoadAsync(loader, connection, $"COPY {Stage} ({columnList}) FROM STDIN", node, cancellationToken);
        var liveScope = "true";
        if (options.Filter is { } filter)
        {
            // The filter is the user's SQL, run where this transaction may write: it runs as one statement, inside a
            // savepoint made read-only, where only the temporary tables can change. It picks the snapshot's rows to
            // restore, and (for replace) the live rows in scope, recorded by row id before anything is written.
            await PostgresErrors.ExecuteAsync(connection, $"CREATE TEMP TABLE {Scope} (row_id tid) ON COMMIT DROP", cancellationToken);
            try
            {
                await PostgresErrors.ExecuteAsync(connection, "SAVEPOINT arca_filter; SET TRANSACTION READ ONLY", cancellationToken);
                await using (var pick = PostgresErrors.SingleStatement($"DELETE FROM {Stage} AS t WHERE (({filter}) AND $1) IS NOT TRUE", connection))
                {
                    await pick.ExecuteNonQueryAsync(cancellationToken);
                }
                if (options.Mode == TableRestoreMode.Replace)
                {
                    await using var scope = PostgresErrors.SingleStatement($"INSERT INTO {Scope} SELECT t.ctid FROM ONLY {into.Sql} AS t WHERE ({filter}) AND $1", connection);
                    await scope.ExecuteNonQueryAsync(cancellationToken);
                }
                await PostgresErrors.ExecuteAsync(connection, "RELEASE SAVEPOINT arca_filter", cancellationToken);
            }
            catch (PostgresException ex)
            {
                throw PostgresBackup.FilterError(source, filter, ex.SqlState, ex.MessageText, ex);
            }
            liveScope = $"t.ctid IN (SELECT row_id FROM {Scope})";
        }
        // Statistics, so the comparisons below join by hash rather than probe the live table's index row by row.
        await PostgresErrors.ExecuteAsync(connection, $"ANALYZE {Stage}", cancellationToken);
        var keyMatch = string.Join(" AND ", info.Key.Select(k => $"t.{TableName.Ident(k)} = s.{TableName.Ident(k)}"));
        var valueColumns = info.Columns.Where(c => !info.Key.Contains(c.Name)).Select(c => TableName.Ident(c.Name)).ToList();
        var differs = valueColumns.Count == 0 ? "false"
            : $"({string.Join(", ", valueColumns.Select(c => $"s.{c}::text"))}) IS DISTINCT FROM ({string.Join(", ", valueColumns.Select(c => $"t.{c}::text"))})";
        var before = await CompareAsync(connection, info, into, keyMatch, differs, liveScope, options, cancellationToken);
        if (options.DryRun)
        {
            await transaction.RollbackAsync(cancellationToken);
            return before with { Table = source.ToString(), Target = into.ToString() };
        }

        var insert = $"INSERT INTO {into.Sql} ({columnList}) OVERRIDING SYSTEM VALUE SELECT {string.Join(", ", columns.Select(c => "s." + c))} FROM {Stage} AS s";
        var rowsBefore = await CountAsync(connection, $"SELECT count(*) FROM ONLY {into.Sql}", cancellationToken);
        long deleted = 0, inserted = 0;
        if (options.Mode == TableRestoreMode.Replace)
        {
            deleted = await PostgresErrors.ExecuteAsync(connection, info.Key.Count == 0
                ? $"DELETE FROM ONLY {into.Sql} AS t WHERE {liveScope}"
                : $"DELETE FROM ONLY {into.Sql} AS t WHERE {liveScope} AND NOT EXISTS (SELECT 1 FROM {Stage} AS s WHERE {keyMatch})", cancellationToken);
        }
        if (info.Key.Count == 0)
        {
            inserted = await PostgresErrors.ExecuteAsync(connection, insert, cancellationToken);
        }
        else if (options.Mode == TableRestoreMode.InsertMissing)
        {
            await PostgresErrors.ExecuteAsync(connection, $"{insert} WHERE NOT EXISTS (SELECT 1 FROM ONLY {into.Sql} AS t WHERE {keyMatch})", cancellationToken);
        }
        else
        {
            var conflict = string.Join(", ", info.Key.Select(TableName.Ident));
            var update = valueColumns.Count == 0 ? "DO NOTHING"
                : $"DO UPDATE SET {string.Join(", ", valueColumns.Select(c => $"{c} = EXCLUDED.{c}"))} WHERE " +
                  $"({string.Join(", ", valueColumns.Select(c => $"{into.Sql}.{c}::text"))}) IS DISTINCT FROM ({string.Join(", ", valueColumns.Select(c => $"EXCLUDED.{c}::text"))})";
            await PostgresErrors.ExecuteAsync(connection, $"{insert} ON CONFLICT ({conflict}) {update}", cancellationToken);
        }
        var moved = await MoveSequencesAsync(connection, into, info, cancellationToken);
        var after = info.Key.Count == 0 ? null : await CompareAsync(connection, info, into, keyMatch, differs, liveScope, options with { SampleSize = 0 }, cancellationToken);
        // Without a key there is nothing to match rows by: the check is that every snapshot row went in and the
        // table holds exactly what was left plus what was added.
        var verified = after is null
            ? inserted == before.SnapshotRows && await CountAsync(connection, $"SELECT count(*) FROM ONLY {into.Sql}", cancellationToken) == rowsBefore - deleted + inserted
            : after.Insert == 0 && (options.Mode == TableRestoreMode.InsertMissing || after.Update == 0) && (options.Mode != TableRestoreMode.Replace || after.Delete == 0);
        if (!verified)
        {
            throw new ArcaException(ErrorCode.DatabaseFailed,
                $"After restoring {source} into {into}, the table still differs from the snapshot ({after?.Insert} rows missing, {after?.Update} differing); the transaction was rolled back.",
                "A trigger or rule on the table may rewrite rows: check them, or restore with --into a plain copy of the table.");
        }
        await transaction.CommitAsync(cancellationToken);
        return before with { Table = source.ToString(), Target = into.ToString(), Applied = true, Verified = true, SequencesMoved = moved };
    }

    private static void CheckColumns(TableInfo info, PgTable live, TableName into)
    {
        var problems = new List<string>();
        foreach (var column in info.Columns)
        {
            var match = live.Columns.FirstOrDefault(c => c.Name == column.Name);
            if (match is null)
            {
                problems.Add($"'{column.Name}' is missing");
            }
            else if (match.Type != column.Type)
            {
                problems.Add($"'{column.Name}' is {match.Type}, not {column.Type}");
            }
            else if (match.Generated)
            {
                problems.Add($"'{column.Name}' is now generated");
            }
        }
        if (info.Key.Count > 0 && !info.Key.SequenceEqual(live.Key))
        {
            problems.Add($"its primary key is ({string.Join(", ", live.Key)}), not ({string.Join(", ", info.Key)})");
        }
        if (problems.Count > 0)
        {
            throw new ArcaException(ErrorCode.TableMismatch,
                $"The live table {into} no longer matches the snapshot's {info.QualifiedName}: {string.Join("; ", problems)}.",
                "Restore into a table with the snapshot's columns (--into a new table created like it), or migrate the table back first.");
        }
    }

    /// <summary>
    /// Streams a table entry's rows into <c>COPY ... FROM STDIN</c>, checking them against the entry's checksum
    /// before the COPY completes: rows that are not the ones backed up never reach the table.
    /// </summary>
    internal static async Task LoadAsync(IBlobLoader loader, NpgsqlConnection connection, string copy, Node node, CancellationToken cancellationToken)
    {
        var info = node.Table!;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var writer = await connection.BeginTextImportAsync(copy, cancellationToken);
        var raw = ((StreamWriter)writer).BaseStream;
        await using var content = RowDelta.OpenRows(loader, node);
        var buffer = BufferPool.Shared.Rent(1 << 20);
        try
        {
            int n;
            while ((n = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                await raw.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }
        }
        finally
        {
            BufferPool.Shared.Return(buffer);
        }
        if (!string.Equals(Convert.ToHexStringLower(sha.GetHashAndReset()), info.Checksum, StringComparison.Ordinal))
        {
            // Disposing the writer would complete the COPY: cancel it, so the rows never land.
            await ((NpgsqlCopyTextWriter)writer).CancelAsync();
            throw new ArcaException(ErrorCode.RepositoryDamaged, $"The rows of {info.QualifiedName} read from the snapshot do not match its checksum; nothing was written.",
                "Run 'arca check --read-data' to find the damage.");
        }
    }

    private static async Task<TableRestoreResult> CompareAsync(NpgsqlConnection connection, TableInfo info, TableName into, string keyMatch, string differs,
        string liveScope, TableRestoreOptions options, CancellationToken cancellationToken)
    {
        var total = await CountAsync(connection, $"SELECT count(*) FROM {Stage}", cancellationToken);
        if (info.Key.Count == 0)
        {
            var liveRows = await CountAsync(connection, $"SELECT count(*) FROM ONLY {into.Sql} AS t WHERE {liveScope}", cancellationToken);
            return new TableRestoreResult { Table = "", Target = "", SnapshotRows = total, Insert = total, Delete = liveRows };
        }
        long insert, update;
        await using (var cmd = new NpgsqlCommand(
            $"SELECT count(*) FILTER (WHERE t.{TableName.Ident(info.Key[0])} IS NULL), count(*) FILTER (WHERE t.{TableName.Ident(info.Key[0])} IS NOT NULL AND {differs}) " +
            $"FROM {Stage} AS s LEFT JOIN ONLY {into.Sql} AS t ON {keyMatch}", connection))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            insert = reader.GetInt64(0);
            update = reader.GetInt64(1);
        }
        var delete = options.Mode == TableRestoreMode.Replace
            ? await CountAsync(connection, $"SELECT count(*) FROM ONLY {into.Sql} AS t WHERE {liveScope} AND NOT EXISTS (SELECT 1 FROM {Stage} AS s WHERE {keyMatch})", cancellationToken)
            : 0;
        var keyText = string.Join(" || ', ' || ", info.Key.Select(k => $"{TableName.Literal(k + "=")} || s.{TableName.Ident(k)}::text"));
        var liveKeyText = keyText.Replace("s.", "t.", StringComparison.Ordinal);
        var sampleInsert = options.SampleSize > 0 ? await ListAsync(connection,
            $"SELECT {keyText} FROM {Stage} AS s WHERE NOT EXISTS (SELECT 1 FROM ONLY {into.Sql} AS t WHERE {keyMatch}) LIMIT {options.SampleSize}", cancellationToken) : [];
        var sampleUpdate = options.SampleSize > 0 ? await ListAsync(connection,
            $"SELECT {keyText} FROM {Stage} AS s JOIN ONLY {into.Sql} AS t ON {keyMatch} WHERE {differs} LIMIT {options.SampleSize}", cancellationToken) : [];
        var sampleDelete = options.SampleSize > 0 && delete > 0 ? await ListAsync(connection,
            $"SELECT {liveKeyText} FROM ONLY {into.Sql} AS t WHERE {liveScope} AND NOT EXISTS (SELECT 1 FROM {Stage} AS s WHERE {keyMatch}) LIMIT {options.SampleSize}", cancellationToken) : [];
        return new TableRestoreResult
        {
            Table = "",
            Target = "",
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

    /// <summary>Moves each sequence that feeds a restored column past the largest value now in it, so new rows do not collide.</summary>
    private static async Task<List<string>> MoveSequencesAsync(NpgsqlConnection connection, TableName into, TableInfo info, CancellationToken cancellationToken)
    {
        var moved = new List<string>();
        foreach (var column in info.Columns)
        {
            string? sequence;
            await using (var cmd = new NpgsqlCommand($"SELECT pg_get_serial_sequence({TableName.Literal(into.Sql)}, {TableName.Literal(column.Name)})", connection))
            {
                sequence = await cmd.ExecuteScalarAsync(cancellationToken) as string;
            }
            if (sequence is null)
            {
                continue;
            }
            await using var move = new NpgsqlCommand(
                $"SELECT setval({TableName.Literal(sequence)}, m) FROM (SELECT max({TableName.Ident(column.Name)})::bigint AS m FROM ONLY {into.Sql}) AS x, " +
                $"{sequence} AS q WHERE m IS NOT NULL AND (m > q.last_value OR (m = q.last_value AND NOT q.is_called))", connection);
            if (await move.ExecuteScalarAsync(cancellationToken) is long value)
            {
                moved.Add($"{sequence} → {value}");
            }
        }
        return moved;
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<List<string>> ListAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        var list = new List<string>();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(reader.GetString(0));
        }
        return list;
    }
}
