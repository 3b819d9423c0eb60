namespace Arca.Sources.Postgres;

/// <summary>
/// An order-free digest of rows: their count and the sum (two 64-bit lanes) of each row's <see cref="RowHash"/>. A whole-database
/// restore digests the rows it loads, then the restored table read back in whatever order it lies, and compares the two.
/// </summary>
internal readonly record struct RowMultiset(long Rows, ulong Low, ulong High)
{
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

    internal sealed class Builder
    {
        private long _rows;
        private ulong _low, _high;

        public RowMultiset Result => new(_rows, _low, _high);

        /// <summary>One row, without its newline.</summary>
        public void AddRow(ReadOnlySpan<byte> row)
        {
            var (low, high) = RowHash.Of(row);
            _low += low;
            _high += high;
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
