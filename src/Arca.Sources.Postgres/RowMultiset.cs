using System.Globalization;
using Arca.Native;
using Arca.Trees;

namespace Arca.Sources.Postgres;

/// <summary>
/// An order-free digest of rows: their count and the sum of each row's <see cref="RecordHash"/>, the sum PostgreSQL
/// gives as <c>sum(hashtextextended(ROW(...)::text, 0))</c>. A whole-database restore digests the rows it loads, then
/// has the server digest the restored table (or, where it cannot, reads the table back and digests it here), and
/// compares the two.
/// </summary>
internal readonly record struct RowMultiset(long Rows, Int128 Sum)
{
    /// <summary>Digests rows of COPY text read from <paramref name="rows"/>.</summary>
    public static async Task<RowMultiset> OfAsync(Stream rows, CancellationToken cancellationToken)
    {
        using var lines = new LineReader(rows);
        var digest = new Builder();
        while (await lines.NextAsync(cancellationToken) is { } line)
        {
            digest.AddRow(line.Span);
        }
        return digest.Result;
    }

    /// <summary>
    /// Whether the server can digest a table itself as <see cref="RecordHash"/> does: it has hashtextextended (PostgreSQL 11
    /// and later), and its text is UTF-8, as the COPY text hashed here is.
    /// </summary>
    public static bool ServerDigests(PgNativeConnection connection) =>
        connection.Execute("SELECT current_setting('server_version_num')::int >= 110000 AND current_setting('server_encoding') = 'UTF8'") == "t";

    /// <summary>
    /// Digests the rows of a live table (<c>FROM ONLY</c>: not its children), in whatever order they lie. With
    /// <paramref name="onServer"/>, the server digests them, in a scan its parallel workers share, and sends back two
    /// numbers; else the rows are read over COPY and digested here.
    /// </summary>
    public static async Task<RowMultiset> OfTableAsync(PgNativeConnection connection, TableInfo table, bool onServer, CancellationToken cancellationToken)
    {
        var row = string.Join(", ", table.Columns.Select(c => "t." + TableName.Ident(c.Name)));
        var from = $"FROM ONLY {new TableName(table.Schema, table.Name).Sql} AS t";
        using var cancel = cancellationToken.Register(connection.Cancel);
        if (!onServer)
        {
            connection.StartCopyOut($"COPY (SELECT {row} {from}) TO STDOUT");
            await using var live = new NativeCopyStream(connection);
            return await OfAsync(live, cancellationToken);
        }
        string[] digest;
        try
        {
            digest = connection.Execute($"SELECT count(*)::text || ' ' || coalesce(sum(hashtextextended(ROW({row})::text, 0)), 0)::text {from}")!.Split(' ');
        }
        catch (PgNativeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken); // the server stopped the scan because we asked it to
        }
        return new RowMultiset(long.Parse(digest[0], CultureInfo.InvariantCulture), Int128.Parse(digest[1], CultureInfo.InvariantCulture));
    }

    internal sealed class Builder
    {
        private readonly RecordHash _hash = new();
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
