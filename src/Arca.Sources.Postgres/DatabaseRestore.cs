using System.Security.Cryptography;
using System.Text;
using Arca.Repo;
using Arca.Restore;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>A table of a whole-database restore: what the snapshot holds and what the restored table holds.</summary>
public sealed record RestoredTable(string Table, long Rows, long RowsAfter, bool ChecksumMatches);

public sealed record DatabaseRestoreResult(IReadOnlyList<RestoredTable> Tables, int Sequences)
{
    public bool Verified => Tables.All(t => t.ChecksumMatches && t.Rows == t.RowsAfter);
}

/// <summary>The parts of a database entry in a snapshot, as a whole-database restore needs them.</summary>
public sealed record DatabaseEntry(Node Entry, Node PreData, Node PostData, IReadOnlyList<Node> Tables)
{
    public DatabaseInfo Info => Entry.Database!;
}

/// <summary>
/// Restores a whole database into an empty one, as pg_restore does: the schema without indexes and
/// constraints (psql runs pg_dump's pre-data section), then every table's rows over parallel COPY
/// connections, then indexes, constraints and triggers (the post-data section), then each sequence set to
/// exactly its value in the snapshot. Last, every table is read back in key order and its row count and
/// checksum compared with the snapshot's.
/// </summary>
public sealed class DatabaseRestore(IBlobLoader loader)
{
    public async Task<DatabaseRestoreResult> RunAsync(PostgresLocation target, DatabaseEntry database, int jobs, CancellationToken cancellationToken)
    {
        try
        {
            return await RunCoreAsync(target, database, Math.Max(1, jobs), cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.Translate(ex, target) is { } error)
        {
            throw error;
        }
    }

    private async Task<DatabaseRestoreResult> RunCoreAsync(PostgresLocation target, DatabaseEntry database, int jobs, CancellationToken cancellationToken)
    {
        await using (var connection = await PostgresErrors.OpenAsync(target, cancellationToken))
        {
            var existing = await PostgresCatalog.UserObjectsAsync(connection, 4, cancellationToken);
            if (existing.Count > 0)
            {
                throw new ArcaException(ErrorCode.DatabaseNotEmpty,
                    $"The database {target.Display} is not empty: it holds {string.Join(", ", existing.Take(3))}{(existing.Count > 3 ? ", ..." : "")}.",
                    "Restore a whole database into an empty one (createdb NAME), or restore single tables with --table.");
            }
        }
        var psql = PgTools.Find("psql");
        await RunSqlAsync(psql, target, database.PreData, "pre-data", cancellationToken);

        var largestFirst = database.Tables.OrderByDescending(t => t.Size).ToList();
        await ConnectionWorkers.RunAsync(largestFirst, jobs, () => PostgresErrors.OpenAsync(target, cancellationToken),
            (connection, table) => LoadTableAsync(connection, table, cancellationToken), cancellationToken);

        await ApplyPostDataAsync(psql, target, database.PostData, jobs, cancellationToken);
        await using var verify = await PostgresErrors.OpenAsync(target, cancellationToken);
        foreach (var sequence in database.Info.Sequences ?? [])
        {
            var name = new TableName(sequence.Schema, sequence.Name);
            await using var cmd = new NpgsqlCommand($"SELECT setval({TableName.Literal(name.Sql)}, {sequence.LastValue}, {(sequence.IsCalled ? "true" : "false")})", verify);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        foreach (var view in database.Info.MaterializedViews ?? [])
        {
            var parts = view.Split('.', 2);
            await using var cmd = new NpgsqlCommand($"REFRESH MATERIALIZED VIEW {new TableName(parts[0], parts[1]).Sql}", verify);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        var checks = new List<RestoredTable>();
        await ConnectionWorkers.RunAsync(largestFirst, jobs, () => Task.FromResult(NativeConnections.Open(target)), async (connection, table) =>
        {
            var check = await VerifyTableAsync(connection, table, cancellationToken);
            lock (checks)
            {
                checks.Add(check);
            }
        }, cancellationToken);
        return new DatabaseRestoreResult([.. checks.OrderBy(c => c.Table, StringComparer.Ordinal)], database.Info.Sequences?.Count ?? 0);
    }

    private Task LoadTableAsync(NpgsqlConnection connection, Node node, CancellationToken cancellationToken)
    {
        var info = node.Table!;
        var columns = string.Join(", ", info.Columns.Select(c => TableName.Ident(c.Name)));
        return TableRestore.LoadAsync(loader, connection, $"COPY {new TableName(info.Schema, info.Name).Sql} ({columns}) FROM STDIN", node, cancellationToken);
    }

    /// <summary>
    /// Reads a restored table back in the order the backup read it and compares row count and checksum with the
    /// snapshot's. A table without a key was read in physical order, which a load does not always reproduce (the
    /// server fills space left on earlier pages); for such a table a checksum that differs is settled by comparing
    /// the rows as a multiset, on both sides.
    /// </summary>
    private async Task<RestoredTable> VerifyTableAsync(Native.PgNativeConnection connection, Node node, CancellationToken cancellationToken)
    {
        var info = node.Table!;
        var name = new TableName(info.Schema, info.Name);
        var select = $"SELECT {string.Join(", ", info.Columns.Select(c => "t." + TableName.Ident(c.Name)))} FROM ONLY {name.Sql} AS t";
        var (rows, checksum) = await ReadBackAsync(connection, $"{select} ORDER BY {PostgresCatalog.OrderBy(info.Key)}", cancellationToken);
        var matches = checksum == info.Checksum;
        if (!matches && info.Key.Count == 0 && rows == info.Rows)
        {
            connection.StartCopyOut($"COPY ({select}) TO STDOUT");
            await using var live = new NativeCopyStream(connection);
            await using var stored = RowDelta.OpenRows(loader, node);
            matches = await RowMultiset.OfAsync(live, cancellationToken) == await RowMultiset.OfAsync(stored, cancellationToken);
        }
        return new RestoredTable(info.QualifiedName, info.Rows, rows, matches);
    }

    private static async Task<(long Rows, string Checksum)> ReadBackAsync(Native.PgNativeConnection connection, string select, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long rows = 0;
        connection.StartCopyOut($"COPY ({select}) TO STDOUT");
        await using (var raw = new NativeCopyStream(connection))
        {
            var buffer = BufferPool.Shared.Rent(1 << 20);
            try
            {
                int n;
                while ((n = await raw.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    sha.AppendData(buffer, 0, n);
                    rows += buffer.AsSpan(0, n).Count((byte)'\n');
                }
            }
            finally
            {
                BufferPool.Shared.Return(buffer);
            }
        }
        return (rows, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    /// <summary>
    /// Indexes and key constraints first, several at once (each only reads its own table), then the rest of the
    /// section in order: foreign keys need the keys they point to, triggers come last as pg_dump put them.
    /// </summary>
    private async Task ApplyPostDataAsync(string psql, PostgresLocation target, Node script, int jobs, CancellationToken cancellationToken)
    {
        var text = await ReadTextAsync(script, cancellationToken);
        var parsed = SchemaScript.Parse(text);
        try
        {
            await ConnectionWorkers.RunAsync(parsed.Independent, jobs, async () =>
            {
                var connection = await PostgresErrors.OpenAsync(target, cancellationToken);
                await PostgresErrors.ExecuteAsync(connection, parsed.Preamble, cancellationToken);
                return connection;
            }, (connection, sql) => PostgresErrors.ExecuteAsync(connection, sql, cancellationToken), cancellationToken);
        }
        catch (PostgresException ex)
        {
            throw new ArcaException(ErrorCode.DatabaseFailed, $"An index or constraint of the schema did not apply to {target.Display}: {ex.MessageText}.",
                "Mend the cause and restore into a fresh empty database.", ex);
        }
        using var rest = new MemoryStream(Encoding.UTF8.GetBytes(parsed.Dependent));
        await RunSqlAsync(psql, target, rest, "post-data", cancellationToken);
    }

    private async Task<string> ReadTextAsync(Node file, CancellationToken cancellationToken)
    {
        await using var content = new ContentReader(loader, file.Content ?? []);
        using var memory = new MemoryStream();
        await content.CopyToAsync(memory, cancellationToken);
        return Encoding.UTF8.GetString(memory.ToArray());
    }

    private async Task RunSqlAsync(string psql, PostgresLocation target, Node script, string section, CancellationToken cancellationToken)
    {
        await using var content = new ContentReader(loader, script.Content ?? []);
        await RunSqlAsync(psql, target, content, section, cancellationToken);
    }

    private static async Task RunSqlAsync(string psql, PostgresLocation target, Stream script, string section, CancellationToken cancellationToken)
    {
        try
        {
            await PgTools.RunAsync(psql, ["-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"],
                target.ToolEnvironment(), script, cancellationToken);
        }
        catch (ToolFailedException ex)
        {
            throw new ArcaException(ErrorCode.DatabaseFailed,
                $"The schema's {section} section did not apply to {target.Display}: {ex.Error.Split('\n')[0]}",
                "Mend the cause (a missing role or extension, say) and restore into a fresh empty database.", ex);
        }
    }
}

/// <summary>An order-free digest of a stream of rows: the count and the sum (two 64-bit lanes) of each row's SHA-256.</summary>
internal readonly record struct RowMultiset(long Rows, ulong Low, ulong High)
{
    public static async Task<RowMultiset> OfAsync(Stream rows, CancellationToken cancellationToken)
    {
        using var lines = new LineReader(rows);
        long count = 0;
        ulong low = 0, high = 0;
        var hash = new byte[32];
        while (await lines.NextAsync(cancellationToken) is { } line)
        {
            SHA256.HashData(line.Span, hash);
            low += System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(hash);
            high += System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(hash.AsSpan(8));
            count++;
        }
        return new RowMultiset(count, low, high);
    }
}
