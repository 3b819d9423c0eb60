using Arca.Repo;
using Arca.Restore;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>
/// Restores tables of a snapshot into a live database. Each table's rows are loaded into a temporary table
/// (checked against the snapshot's checksum on the way), compared with the live table by primary key, and
/// merged by set-based SQL in one transaction per table, which holds other sessions' writes to it off; tables go
/// in foreign-key order. A dry run does the same comparison, takes no lock and rolls back.
/// </summary>
public sealed class TableRestore(IBlobLoader loader)
{
    /// <summary>
    /// Writes one table's rows, as COPY text with the snapshot's columns in order, to the stream of <c>COPY ... FROM STDIN</c>;
    /// <paramref name="liveTypes"/> are the live table's column types, in the same order. For rows from another engine.
    /// </summary>
    public delegate Task CopyTextSource(Stream copyIn, IReadOnlyList<string> liveTypes, CancellationToken cancellationToken);


    private const string Stage = "arca_rows";
    private const string Scope = "arca_scope";

    public async Task<List<TableRestoreResult>> RunAsync(PostgresLocation target, IReadOnlyList<Node> tables, TableRestoreOptions options,
        CancellationToken cancellationToken)
    {
        if (options.Into is not null && tables.Count != 1)
        {
            throw new ArcaException(ErrorCode.Usage, "--into renames one table, and several were named.", "Restore one table at a time with --into.");
        }
        foreach (var node in tables)
        {
            TableMerge.CheckMode(node.Table!, options, new TableName(node.Table!.Schema, node.Table.Name).ToString());
        }
        try
        {
            return await TableMerge.RestoreEachAsync(tables, t => t.Table!, options,
                node => RestoreOneAsync(target, node.Table!, (c, copy, _, ct) => LoadAsync(loader, c, copy, node, ct), options, cancellationToken),
                ex => Translated(ex, target, cancellationToken));
        }
        catch (Exception ex) when (Translated(ex, target, cancellationToken) is ArcaException error && error != ex)
        {
            throw error;
        }
    }

    /// <summary>A server's error said as the restore's own, unless the restore was cancelled (then it is the cancellation).</summary>
    private static Exception Translated(Exception ex, PostgresLocation target, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && ex is not ArcaException && PostgresErrors.Translate(ex, target) is { } error ? error : ex;

    /// <summary>
    /// Restores tables backed up from another engine (SQLite) into this live database: columns are matched by name,
    /// each value is converted by PostgreSQL's input rules for the live column's type, and a value that does not
    /// convert stops the table's restore with the reason. A table without a schema here goes to public.
    /// </summary>
    public static async Task<List<TableRestoreResult>> RunForeignAsync(PostgresLocation target, IReadOnlyList<(TableInfo Info, CopyTextSource Rows)> tables,
        TableRestoreOptions options, CancellationToken cancellationToken)
    {
        if (options.Into is not null && tables.Count != 1)
        {
            throw new ArcaException(ErrorCode.Usage, "--into renames one table, and several were named.", "Restore one table at a time with --into.");
        }
        foreach (var (info, _) in tables)
        {
            TableMerge.CheckMode(info, options, info.Name);
        }
        try
        {
            return await TableMerge.RestoreEachAsync(tables, t => t.Info, options, table =>
            {
                var (info, rows) = table;
                return RestoreOneAsync(target, info, async (connection, copy, liveTypes, ct) =>
                {
                    try
                    {
                        await using var writer = await connection.BeginTextImportAsync(copy, ct);
                        await rows(((StreamWriter)writer).BaseStream, liveTypes, ct);
                    }
                    catch (PostgresException ex) when (ex.SqlState.StartsWith("22", StringComparison.Ordinal))
                    {
                        throw new ArcaException(ErrorCode.TableMismatch,
                            $"A value of {info.Engine} table {info.Name} does not convert to the live table's column type: {ex.MessageText}{(ex.Where is { } where ? $" ({where.Split('\n')[0]})" : "")}.",
                            "Restore --into a table whose column types can hold the values (text holds any), or convert the column first.", ex);
                    }
                }, options, cancellationToken, foreign: true);
            }, ex => Translated(ex, target, cancellationToken));
        }
        catch (Exception ex) when (Translated(ex, target, cancellationToken) is ArcaException error && error != ex)
        {
            throw error;
        }
    }

    private delegate Task RowLoader(NpgsqlConnection connection, string copy, IReadOnlyList<string> liveTypes, CancellationToken cancellationToken);

    private static async Task<TableRestoreResult> RestoreOneAsync(PostgresLocation target, TableInfo info, RowLoader load, TableRestoreOptions options,
        CancellationToken cancellationToken, bool foreign = false)
    {
        var source = foreign ? new TableName("public", info.Name) : new TableName(info.Schema, info.Name);
        var into = options.Into is null ? source : TableName.Parse(options.Into);
        await using var connection = await PostgresErrors.OpenAsync(target, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var live = await PostgresCatalog.FindTableAsync(connection, into, cancellationToken)
            ?? throw new ArcaException(ErrorCode.TableNotFound, $"The database {target.Display} has no table {into}.",
                "Create it first (a whole-database restore brings the schema), or name another with --into.");
        if (!options.DryRun)
        {
            // Other sessions' writes to the table wait for its restore to commit (reads go on): the rows compared are the
            // rows merged, and the check after the merge sees no one else's change. A dry run writes nothing and holds no one up.
            await PostgresErrors.ExecuteAsync(connection, $"LOCK TABLE ONLY {into.Sql} IN SHARE ROW EXCLUSIVE MODE", cancellationToken);
        }
        // From another engine, types are compared value by value as the rows convert.
        TableMerge.CheckColumns(info, [.. live.Columns.Select(c => new TableColumn(c.Name, c.Type))], live.Key,
            live.Columns.Where(c => c.Generated).Select(c => c.Name).ToHashSet(StringComparer.Ordinal), into.ToString(), compareTypes: !foreign);
        var liveTypes = info.Columns.Select(c => live.Columns.First(l => l.Name == c.Name).Type).ToList();

        var columns = info.Columns.Select(c => TableName.Ident(c.Name)).ToList();
        var columnList = string.Join(", ", columns);
        await PostgresErrors.ExecuteAsync(connection, $"CREATE TEMP TABLE {Stage} ON COMMIT DROP AS SELECT {columnList} FROM ONLY {into.Sql} WITH NO DATA", cancellationToken);
        // A table of no columns (legal, if rare) has no column list: each of its rows is an empty line.
        await load(connection, $"COPY {Stage}{(columns.Count > 0 ? $" ({columnList})" : "")} FROM STDIN", liveTypes, cancellationToken);
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
                throw PostgresBackup.FilterError(source, filter, ex.SqlState, ex.MessageText, ex, restore: true);
            }
            liveScope = $"t.ctid IN (SELECT row_id FROM {Scope})";
        }
        // Statistics, so the comparisons below join by hash rather than probe the live table's index row by row.
        await PostgresErrors.ExecuteAsync(connection, $"ANALYZE {Stage}", cancellationToken);
        var merge = new TableMerge(connection, transaction, PgDialect.Instance, info, into.Sql, Stage, liveScope);
        var result = await merge.RunAsync(options, ct => MoveSequencesAsync(connection, into, info, ct), cancellationToken);
        if (options.DryRun)
        {
            await transaction.RollbackAsync(cancellationToken);
        }
        else
        {
            await transaction.CommitAsync(cancellationToken);
        }
        return result with { Table = source.ToString(), Target = into.ToString() };
    }

    /// <summary>
    /// Streams a table entry's rows into <c>COPY ... FROM STDIN</c>, checking them against the entry's checksum
    /// before the COPY completes: rows that are not the ones backed up never reach the table.
    /// </summary>
    internal static Task LoadAsync(IBlobLoader loader, NpgsqlConnection connection, string copy, Node node, CancellationToken cancellationToken) =>
        TableLoad.RunAsync(loader, node, connection, copy, freeze: null, digest: false, cancellationToken);

    /// <summary>
    /// Moves each sequence that feeds a restored integer column past the largest value now in it, so new rows do not
    /// collide: the column's own (serial, identity: OWNED BY) and any its default draws from (nextval('ids') on a
    /// sequence of its own, or a table made LIKE another).
    /// </summary>
    private static async Task<IReadOnlyList<string>> MoveSequencesAsync(NpgsqlConnection connection, TableName into, TableInfo info, CancellationToken cancellationToken)
    {
        var feeding = new List<(string Column, string Sequence)>();
        await using (var find = new NpgsqlCommand(
            "SELECT a.attname, s.seq FROM pg_catalog.pg_attribute AS a CROSS JOIN LATERAL (" +
            "SELECT pg_catalog.pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) AS seq UNION " +
            "SELECT d.refobjid::regclass::text FROM pg_catalog.pg_attrdef AS ad JOIN pg_catalog.pg_depend AS d ON d.classid = 'pg_catalog.pg_attrdef'::regclass " +
            "AND d.objid = ad.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass JOIN pg_catalog.pg_class AS c ON c.oid = d.refobjid AND c.relkind = 'S' " +
            "WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum) AS s " +
            $"WHERE a.attrelid = {TableName.Literal(into.Sql)}::regclass AND a.attnum > 0 AND NOT a.attisdropped AND s.seq IS NOT NULL " +
            "AND a.atttypid IN ('pg_catalog.int2'::regtype, 'pg_catalog.int4'::regtype, 'pg_catalog.int8'::regtype) ORDER BY a.attnum, s.seq", connection))
        await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                feeding.Add((reader.GetString(0), reader.GetString(1)));
            }
        }
        var moved = new List<string>();
        foreach (var (column, sequence) in feeding.Where(f => info.Columns.Any(c => c.Name == f.Column)))
        {
            await using var move = new NpgsqlCommand(
                $"SELECT setval({TableName.Literal(sequence)}, m) FROM (SELECT max({TableName.Ident(column)})::bigint AS m FROM ONLY {into.Sql}) AS x, " +
                $"{sequence} AS q WHERE m IS NOT NULL AND (m > q.last_value OR (m = q.last_value AND NOT q.is_called))", connection);
            if (await move.ExecuteScalarAsync(cancellationToken) is long value)
            {
                moved.Add($"sequence {sequence} moved to {value}");
            }
        }
        return moved;
    }
}

/// <summary>PostgreSQL's spelling of the SQL a table merge uses.</summary>
internal sealed class PgDialect : ISqlDialect
{
    public static PgDialect Instance { get; } = new();

    public string Ident(string name) => TableName.Ident(name);

    public string Literal(string text) => TableName.Literal(text);

    public string Text(string expression) => expression + "::text";

    // As text: json and other types without an equality operator compare too, and equal values print equal.
    public string Differs(IReadOnlyList<string> columns, string left, string right) =>
        $"({string.Join(", ", columns.Select(c => $"{left}.{c}::text"))}) IS DISTINCT FROM ({string.Join(", ", columns.Select(c => $"{right}.{c}::text"))})";

    public string Only => "ONLY ";

    public string Overriding => "OVERRIDING SYSTEM VALUE ";
}
