using System.Globalization;
using Arca.Native;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>
/// An order-free digest of rows: their count and the sum of each row's <see cref="RecordHash"/>, the sum PostgreSQL
/// gives as <c>sum(hashtextextended(ROW(...)::text, 0))</c>. A whole-database restore digests the rows it loads, then
/// has the server digest the restored table (or, where it cannot, reads the table back and digests it here), and
/// compares the two.
/// </summary>
internal readonly record struct RowMultiset(long Rows, Int128 Sum)
{
    /// <summary>The digest of both sets of rows together (a table loaded in parts).</summary>
    public RowMultiset Plus(RowMultiset other) => new(Rows + other.Rows, Sum + other.Sum);

    /// <summary>Digests rows of COPY text read from <paramref name="rows"/>.</summary>
    public static async Task<RowMultiset> OfAsync(Stream rows, int columns, CancellationToken cancellationToken)
    {
        using var lines = new LineReader(rows);
        var digest = new Builder(columns);
        while (await lines.NextAsync(cancellationToken) is { } line)
        {
            digest.AddRow(line.Span);
        }
        return digest.Result;
    }

    /// <summary>
    /// Whether the server digests rows as <see cref="RecordHash"/> does. It must have hashtextextended (PostgreSQL 11 and
    /// later) and hold its text in UTF-8, as the COPY text hashed here is; and it must agree on a probe record: a server
    /// on a big-endian machine hashes otherwise, and one whose C library takes bytes of non-ASCII characters for white
    /// space (as record_out asks isspace) quotes otherwise. Where it does not, the rows are read back instead.
    /// </summary>
    public static async Task<bool> ServerDigestsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var check = new NpgsqlCommand(
            "SELECT current_setting('server_version_num')::int >= 110000 AND current_setting('server_encoding') = 'UTF8'", connection);
        if (await check.ExecuteScalarAsync(cancellationToken) is not true)
        {
            return false;
        }
        await using var probe = new NpgsqlCommand(
            "SELECT pg_catalog.hashtextextended(ROW(E'\\u00e0\\u0085', '', 'a\"b\\c,(x)', NULL::text, E'\\u00a0')::text, 0::bigint)", connection);
        var server = (long)(await probe.ExecuteScalarAsync(cancellationToken))!;
        return server == new RecordHash(columns: 5).Of(ProbeCopyText);
    }

    /// <summary>The probe record of <see cref="ServerDigestsAsync"/> as COPY text: the same five values.</summary>
    private static ReadOnlySpan<byte> ProbeCopyText => "\u00e0\u0085\t\ta\"b\\\\c,(x)\t\\N\t\u00a0"u8;

    /// <summary>
    /// The server's digest of a live table's rows (<c>FROM ONLY</c>: not its children), from a scan its parallel workers
    /// share; only two numbers come back. Call it where <see cref="ServerDigestsAsync"/> said yes.
    /// </summary>
    public static async Task<RowMultiset> OfTableOnServerAsync(NpgsqlConnection connection, TableInfo table, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(
            $"SELECT count(*), coalesce(sum(pg_catalog.hashtextextended(ROW({RowSql(table)})::text, 0::bigint)), 0)::text {FromSql(table)}", connection);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new RowMultiset(reader.GetInt64(0), Int128.Parse(reader.GetString(1), CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Reads a live table's rows (<c>FROM ONLY</c>) over COPY, as they lie, and digests them here. Blocks its thread in
    /// libpq (see <see cref="PgNativeConnection"/>).
    /// </summary>
    public static async Task<RowMultiset> OfTableReadBackAsync(PgNativeConnection connection, TableInfo table, CancellationToken cancellationToken)
    {
        using var cancel = cancellationToken.Register(connection.Cancel);
        cancellationToken.ThrowIfCancellationRequested(); // a cancel sent before the COPY began would stop nothing
        try
        {
            connection.StartCopyOut($"COPY (SELECT {RowSql(table)} {FromSql(table)}) TO STDOUT");
            await using var live = new NativeCopyStream(connection);
            return await OfAsync(live, table.Columns.Count, cancellationToken);
        }
        catch (PgNativeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken); // the server stopped the read because we asked it to
        }
    }

    private static string RowSql(TableInfo table) => string.Join(", ", table.Columns.Select(c => "t." + TableName.Ident(c.Name)));

    private static string FromSql(TableInfo table) => $"FROM ONLY {new TableName(table.Schema, table.Name).Sql} AS t";

    /// <summary>Digests rows of a table of <paramref name="columns"/> columns, given as COPY text.</summary>
    internal sealed class Builder(int columns)
    {
        private readonly RecordHash _hash = new(columns);
        private long _rows;
        private Int128 _sum;

        public RowMultiset Result => new(_rows, _sum);

        /// <summary>One row, without its newline.</summary>
        public void AddRow(ReadOnlySpan<byte> row)
        {
            _sum += _hash.Of(row);
            _rows++;
        }

        /// <summary>Rows as COPY text: each ends at a newline (the last may lack it). Without <paramref name="digest"/>, only counted.</summary>
        public void AddRows(ReadOnlySpan<byte> text, bool digest = true)
        {
            if (!digest)
            {
                _rows += text.Count((byte)'\n') + (!text.IsEmpty && text[^1] != (byte)'\n' ? 1 : 0);
                return;
            }
            while (!text.IsEmpty)
            {
                var newline = text.IndexOf((byte)'\n');
                AddRow(newline < 0 ? text : text[..newline]);
                text = newline < 0 ? default : text[(newline + 1)..];
            }
        }
    }
}
