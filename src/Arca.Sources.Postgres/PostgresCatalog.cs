using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>A column as the catalog describes it.</summary>
internal sealed record PgColumn(string Name, string Type, bool NotNull, bool Generated, bool IdentityAlways);

/// <summary>A table with what a backup or restore needs to know of it.</summary>
internal sealed record PgTable(uint Oid, TableName Name, IReadOnlyList<PgColumn> Columns, IReadOnlyList<string> Key,
    IReadOnlyList<TableName> References, long EstimatedBytes);

/// <summary>Reads tables, columns, keys, foreign keys and sequences from pg_catalog.</summary>
internal static class PostgresCatalog
{
    /// <summary>
    /// Every table holding rows in a non-system schema: ordinary tables and the partitions of partitioned
    /// ones (whose parents hold no rows of their own), but not tables that belong to an extension.
    /// </summary>
    public static async Task<List<PgTable>> TablesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var tables = new List<(uint Oid, TableName Name, long Bytes)>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT c.oid, n.nspname, c.relname, c.relpages::bigint * 8192
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            ORDER BY n.nspname, c.relname
            """, connection))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add((reader.GetFieldValue<uint>(0), new TableName(reader.GetString(1), reader.GetString(2)), reader.GetInt64(3)));
            }
        }
        var columns = new Dictionary<uint, List<PgColumn>>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated <> '', a.attidentity = 'a'
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attrelid, a.attnum
            """, connection))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var oid = reader.GetFieldValue<uint>(0);
                if (!columns.TryGetValue(oid, out var list))
                {
                    columns[oid] = list = [];
                }
                list.Add(new PgColumn(reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetBoolean(4), reader.GetBoolean(5)));
            }
        }
        var keys = new Dictionary<uint, List<string>>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT i.indrelid, a.attname
            FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indisprimary
            ORDER BY i.indrelid, k.ord
            """, connection))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var oid = reader.GetFieldValue<uint>(0);
                if (!keys.TryGetValue(oid, out var list))
                {
                    keys[oid] = list = [];
                }
                list.Add(reader.GetString(1));
            }
        }
        var references = new Dictionary<uint, List<TableName>>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT DISTINCT c.conrelid, n.nspname, r.relname
            FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE c.contype = 'f' AND c.conrelid <> c.confrelid
            """, connection))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var oid = reader.GetFieldValue<uint>(0);
                if (!references.TryGetValue(oid, out var list))
                {
                    references[oid] = list = [];
                }
                list.Add(new TableName(reader.GetString(1), reader.GetString(2)));
            }
        }
        return [.. tables.Select(t => new PgTable(t.Oid, t.Name, columns.GetValueOrDefault(t.Oid) ?? [], keys.GetValueOrDefault(t.Oid) ?? [],
            references.GetValueOrDefault(t.Oid) ?? [], t.Bytes))];
    }

    /// <summary>
    /// Up to <paramref name="limit"/> objects a user made in the database (relations, functions, types, schemas
    /// other than public; not those of extensions): none means it is empty enough to restore a whole database into.
    /// </summary>
    public static async Task<List<string>> UserObjectsAsync(NpgsqlConnection connection, int limit, CancellationToken cancellationToken)
    {
        var objects = new List<string>();
        await using var cmd = new NpgsqlCommand($"""
            SELECT kind || ' ' || name FROM (
              SELECT 'relation' AS kind, n.nspname || '.' || c.relname AS name
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
              UNION ALL
              SELECT 'function', n.nspname || '.' || p.proname
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
              UNION ALL
              SELECT 'type', n.nspname || '.' || t.typname
              FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE t.typtype IN ('e', 'd', 'r', 'm') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
              UNION ALL
              SELECT 'schema', nspname FROM pg_namespace
              WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\_%'
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = pg_namespace.oid AND d.deptype = 'e')
            ) AS o LIMIT {limit}
            """, connection);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            objects.Add(reader.GetString(0));
        }
        return objects;
    }

    /// <summary>One table by name, or null; used by restores, which look at the live database.</summary>
    public static async Task<PgTable?> FindTableAsync(NpgsqlConnection connection, TableName name, CancellationToken cancellationToken)
    {
        var all = await TablesAsync(connection, cancellationToken);
        return all.FirstOrDefault(t => t.Name == name);
    }

    /// <summary>Sequences in non-system schemas with their values (read like pg_dump does: not transactional).</summary>
    public static async Task<List<Trees.SequenceValue>> SequencesAsync(NpgsqlConnection connection, Func<TableName, bool>? ownedBy,
        CancellationToken cancellationToken)
    {
        var names = new List<(TableName Sequence, TableName? Owner)>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT n.nspname, c.relname, tn.nspname, t.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
            LEFT JOIN pg_class t ON t.oid = d.refobjid LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
            WHERE c.relkind = 'S' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
            ORDER BY 1, 2
            """, connection))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var owner = reader.IsDBNull(2) ? (TableName?)null : new TableName(reader.GetString(2), reader.GetString(3));
                names.Add((new TableName(reader.GetString(0), reader.GetString(1)), owner));
            }
        }
        var values = new List<Trees.SequenceValue>();
        foreach (var (sequence, owner) in names)
        {
            if (ownedBy is not null && (owner is not { } o || !ownedBy(o)))
            {
                continue;
            }
            await using var cmd = new NpgsqlCommand($"SELECT last_value, is_called FROM {sequence.Sql}", connection);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            values.Add(new Trees.SequenceValue(sequence.Schema, sequence.Name, reader.GetInt64(0), reader.GetBoolean(1)));
        }
        return values;
    }

    /// <summary>
    /// The ORDER BY that gives a table's rows a stable order: its key, or for a table without one, the rows'
    /// physical order, which a restore reproduces (so pg_dump of the copy lists them alike) and which a plain
    /// sequential scan might not give (it can start mid-table when another scan is running).
    /// </summary>
    public static string OrderBy(IReadOnlyList<string> key) =>
        key.Count > 0 ? string.Join(", ", key.Select(k => "t." + TableName.Ident(k))) : "t.ctid";

    /// <summary>The tables' oids as one parameter, an oid[] ($1 in <c>unnest($1::oid[])</c>, <c>= ANY($1)</c>).</summary>
    public static NpgsqlParameter Oids(IEnumerable<PgTable> tables) =>
        new() { Value = tables.Select(t => t.Oid).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Oid };

    /// <summary>
    /// The tables with their sizes on disk, rows and TOAST (<c>pg_table_size</c>), in place of the catalog's estimate,
    /// which is 0 until a table is first vacuumed or analyzed. Asked only for the tables a backup reads: the size
    /// function locks each table it measures, as the read will.
    /// </summary>
    public static async Task<List<PgTable>> WithSizesAsync(NpgsqlConnection connection, List<PgTable> tables, CancellationToken cancellationToken)
    {
        var sizes = new Dictionary<uint, long>();
        await using (var cmd = new NpgsqlCommand("SELECT o, coalesce(pg_catalog.pg_table_size(o), 0) FROM unnest($1::oid[]) AS o", connection))
        {
            cmd.Parameters.Add(Oids(tables));
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                sizes[reader.GetFieldValue<uint>(0)] = reader.GetInt64(1);
            }
        }
        return [.. tables.Select(t => sizes.TryGetValue(t.Oid, out var size) ? t with { EstimatedBytes = size } : t)];
    }

    /// <summary>Materialized views holding data, oldest first (a view built on another comes after it).</summary>
    public static async Task<List<string>> PopulatedMaterializedViewsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var views = new List<string>();
        await using var cmd = new NpgsqlCommand("""
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'm' AND c.relispopulated AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
            ORDER BY c.oid
            """, connection);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            views.Add(new TableName(reader.GetString(0), reader.GetString(1)).ToString());
        }
        return views;
    }
}
