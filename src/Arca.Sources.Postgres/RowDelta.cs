using System.Buffers;
using System.Buffers.Text;
using Arca.Repo;
using Arca.Restore;
using Arca.Storage;
using Arca.Trees;

namespace Arca.Sources.Postgres;

/// <summary>
/// Lines of a stream, one at a time, without copying them out: each line is valid until the next call.
/// </summary>
internal sealed class LineReader(Stream source) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
    private int _start;
    private int _end;
    private bool _eof;

    /// <summary>The next line without its newline, or null at the end of the stream.</summary>
    public async ValueTask<ReadOnlyMemory<byte>?> NextAsync(CancellationToken cancellationToken)
    {
        var scanFrom = _start;
        while (true)
        {
            var newline = _buffer.AsSpan(scanFrom, _end - scanFrom).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = _buffer.AsMemory(_start, scanFrom + newline - _start);
                _start = scanFrom + newline + 1;
                return line;
            }
            if (_eof)
            {
                if (_start < _end)
                {
                    throw new InvalidDataException("Table rows end in the middle of a row.");
                }
                return null;
            }
            var pending = _end - _start;
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
                _start = 0;
                _end = pending;
            }
            if (_end == _buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }
            scanFrom = _end;
            var n = await source.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (n == 0)
            {
                _eof = true;
            }
            _end += n;
        }
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}

/// <summary>
/// Orders rows by primary key the way PostgreSQL's ORDER BY on that key does, for the key types where that
/// order can be told from the COPY text alone: integers (numerically) and uuids (their text, which is fixed
/// width lowercase hex). Tables keyed otherwise are always stored whole.
/// </summary>
internal sealed class KeyOrder
{
    private readonly int[] _positions;
    private readonly bool[] _numeric;

    private KeyOrder(int[] positions, bool[] numeric)
    {
        _positions = positions;
        _numeric = numeric;
    }

    public int Count => _positions.Length;

    /// <summary>An integer type: its keys order as numbers.</summary>
    public static bool IsInteger(string type) => type is "smallint" or "integer" or "bigint";

    /// <summary>A key column type whose order this class (and <see cref="PhysicalScan"/>) can tell from COPY text: integers and uuids.</summary>
    public static bool IsOrderable(string type) => IsInteger(type) || type == "uuid";

    /// <summary>The comparer for a table's key, or null when its types are not ones this class can order.</summary>
    public static KeyOrder? For(TableInfo table)
    {
        if (table.Key.Count == 0)
        {
            return null;
        }
        var positions = new int[table.Key.Count];
        var numeric = new bool[table.Key.Count];
        for (var i = 0; i < table.Key.Count; i++)
        {
            var index = table.Columns.ToList().FindIndex(c => c.Name == table.Key[i]);
            if (index < 0)
            {
                return null;
            }
            var type = table.Columns[index].Type;
            if (!IsOrderable(type))
            {
                return null;
            }
            numeric[i] = IsInteger(type);
            positions[i] = index;
        }
        return new KeyOrder(positions, numeric);
    }

    /// <summary>Compares the keys of two lines; each is a full row (<paramref name="aIsRow"/>) or a key record.</summary>
    public int Compare(ReadOnlySpan<byte> a, bool aIsRow, ReadOnlySpan<byte> b, bool bIsRow)
    {
        Span<Range> fa = stackalloc Range[aIsRow ? _positions.Max() + 2 : _positions.Length + 1];
        Span<Range> fb = stackalloc Range[bIsRow ? _positions.Max() + 2 : _positions.Length + 1];
        var sa = Split(a, fa);
        var sb = Split(b, fb);
        for (var i = 0; i < _positions.Length; i++)
        {
            var x = a[sa[aIsRow ? _positions[i] : i]];
            var y = b[sb[bIsRow ? _positions[i] : i]];
            var c = _numeric[i] ? CompareNumbers(x, y) : x.SequenceCompareTo(y);
            if (c != 0)
            {
                return c;
            }
        }
        return 0;
    }

    /// <summary>A row's key fields, tab-separated in key order.</summary>
    public byte[] KeyRecord(ReadOnlySpan<byte> row)
    {
        Span<Range> fields = stackalloc Range[_positions.Max() + 2];
        var split = Split(row, fields);
        var output = new ArrayBufferWriter<byte>();
        for (var i = 0; i < _positions.Length; i++)
        {
            if (i > 0)
            {
                output.Write("\t"u8);
            }
            output.Write(row[split[_positions[i]]]);
        }
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Splits on tabs into <paramref name="fields"/>, as far as it has room (the rest of the line lands in the last).</summary>
    private static Span<Range> Split(ReadOnlySpan<byte> line, Span<Range> fields)
    {
        var count = 0;
        var start = 0;
        while (count < fields.Length - 1)
        {
            var tab = line[start..].IndexOf((byte)'\t');
            if (tab < 0)
            {
                break;
            }
            fields[count++] = new Range(start, start + tab);
            start += tab + 1;
        }
        fields[count++] = new Range(start, line.Length);
        return fields[..count];
    }

    private static int CompareNumbers(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y)
    {
        if (!Utf8Parser.TryParse(x, out long a, out _) || !Utf8Parser.TryParse(y, out long b, out _))
        {
            throw new InvalidDataException("A key value is not an integer.");
        }
        return a.CompareTo(b);
    }
}

/// <summary>
/// A table stored as changes against an earlier full copy (a "delta" entry): its content is the base's blobs
/// followed by the delta's. The delta is a stream, in key order, of records: "+" and a full row (a row new or
/// changed since the base) or "-" and a key (a row deleted since the base). Deltas are always taken against a
/// full base, never against another delta, so a restore merges exactly two streams.
/// </summary>
internal static class RowDelta
{
    public const string Kind = "delta";

    /// <summary>The table's rows in key order, as a COPY text stream, whether stored whole or as base + delta.</summary>
    public static Stream OpenRows(IBlobLoader loader, Node node)
    {
        var info = node.Table!;
        var content = node.Content ?? [];
        if (info.Kind != Kind)
        {
            return new ContentReader(loader, content);
        }
        var baseCount = info.Base?.Blobs ?? throw new InvalidDataException($"The delta entry of {info.QualifiedName} does not say where its base ends.");
        var order = KeyOrder.For(info) ?? throw new InvalidDataException($"The delta entry of {info.QualifiedName} has a key Arca cannot order.");
        return new MergedRows(order, new ContentReader(loader, [.. content.Take(baseCount)]), new ContentReader(loader, [.. content.Skip(baseCount)]));
    }

    /// <summary>The base's rows of an entry (the whole content of a full entry, the first part of a delta's).</summary>
    public static (IReadOnlyList<BlobId> Blobs, long Bytes, long Rows) BaseOf(Node node) => node.Table!.Kind == Kind
        ? ([.. node.Content!.Take(node.Table.Base!.Blobs)], node.Table.Base.Bytes, node.Table.Base.Rows)
        : (node.Content ?? [], node.Size, node.Table.Rows);

    /// <summary>Pulls the merge of a base and a delta as COPY text.</summary>
    private sealed class MergedRows(KeyOrder order, Stream baseRows, Stream delta) : PullStream
    {
        private readonly LineReader _base = new(baseRows);
        private readonly LineReader _delta = new(delta);
        private ReadOnlyMemory<byte>? _baseLine;
        private ReadOnlyMemory<byte>? _deltaLine;
        private bool _started;

        protected override async ValueTask<bool> ProduceAsync(ArrayBufferWriter<byte> output, CancellationToken cancellationToken)
        {
            if (!_started)
            {
                _started = true;
                _baseLine = await _base.NextAsync(cancellationToken);
                _deltaLine = await _delta.NextAsync(cancellationToken);
            }
            var produced = 0;
            while (produced < 1 << 18)
            {
                if (_deltaLine is not { } d)
                {
                    if (_baseLine is not { } rest)
                    {
                        return produced > 0;
                    }
                    Emit(output, rest.Span, ref produced);
                    _baseLine = await _base.NextAsync(cancellationToken);
                    continue;
                }
                var isRow = d.Span[0] == (byte)'+';
                var c = _baseLine is { } b ? order.Compare(b.Span, true, d.Span[1..], isRow) : 1;
                if (c < 0)
                {
                    Emit(output, _baseLine!.Value.Span, ref produced);
                    _baseLine = await _base.NextAsync(cancellationToken);
                    continue;
                }
                if (c == 0)
                {
                    _baseLine = await _base.NextAsync(cancellationToken);
                }
                if (isRow)
                {
                    Emit(output, d.Span[1..], ref produced);
                }
                _deltaLine = await _delta.NextAsync(cancellationToken);
            }
            return true;
        }

        private static void Emit(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> row, ref int produced)
        {
            output.Write(row);
            output.Write("\n"u8);
            produced += row.Length + 1;
        }

        protected override async ValueTask DisposeSourcesAsync()
        {
            _base.Dispose();
            _delta.Dispose();
            await baseRows.DisposeAsync();
            await delta.DisposeAsync();
        }
    }
}

/// <summary>
/// Pulls the live rows (in key order) against a base's rows and yields the delta records, while hashing and
/// counting the live rows: what the backup stores for a table it has a full base of.
/// </summary>
internal sealed class DeltaStream(KeyOrder order, Stream live, Stream baseRows) : PullStream
{
    private readonly LineReader _live = new(live);
    private readonly LineReader _base = new(baseRows);
    private readonly System.Security.Cryptography.IncrementalHash _sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
    private ReadOnlyMemory<byte>? _liveLine;
    private ReadOnlyMemory<byte>? _baseLine;
    private bool _started;

    public long LiveRows { get; private set; }
    public long LiveBytes { get; private set; }
    public long Upserts { get; private set; }
    public long Deletes { get; private set; }

    /// <summary>SHA-256 of the live rows, as a full backup would have recorded it.</summary>
    public string LiveChecksum() => Convert.ToHexStringLower(_sha.GetHashAndReset());

    protected override async ValueTask<bool> ProduceAsync(ArrayBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        if (!_started)
        {
            _started = true;
            await NextLiveAsync(cancellationToken);
            _baseLine = await _base.NextAsync(cancellationToken);
        }
        var produced = output.WrittenCount;
        while (output.WrittenCount - produced < 1 << 18)
        {
            if (_liveLine is null && _baseLine is null)
            {
                return output.WrittenCount > produced;
            }
            var c = _liveLine is null ? 1 : _baseLine is null ? -1 : order.Compare(_liveLine.Value.Span, true, _baseLine.Value.Span, true);
            if (c < 0)
            {
                Write(output, (byte)'+', _liveLine!.Value.Span);
                Upserts++;
                await NextLiveAsync(cancellationToken);
            }
            else if (c > 0)
            {
                Write(output, (byte)'-', order.KeyRecord(_baseLine!.Value.Span));
                Deletes++;
                _baseLine = await _base.NextAsync(cancellationToken);
            }
            else
            {
                if (!_liveLine!.Value.Span.SequenceEqual(_baseLine!.Value.Span))
                {
                    Write(output, (byte)'+', _liveLine.Value.Span);
                    Upserts++;
                }
                await NextLiveAsync(cancellationToken);
                _baseLine = await _base.NextAsync(cancellationToken);
            }
        }
        return true;
    }

    private async ValueTask NextLiveAsync(CancellationToken cancellationToken)
    {
        _liveLine = await _live.NextAsync(cancellationToken);
        if (_liveLine is { } line)
        {
            _sha.AppendData(line.Span);
            _sha.AppendData("\n"u8);
            LiveRows++;
            LiveBytes += line.Length + 1;
        }
    }

    private static void Write(ArrayBufferWriter<byte> output, byte marker, ReadOnlySpan<byte> line)
    {
        output.Write([marker]);
        output.Write(line);
        output.Write("\n"u8);
    }

    protected override async ValueTask DisposeSourcesAsync()
    {
        _live.Dispose();
        _base.Dispose();
        _sha.Dispose();
        await baseRows.DisposeAsync();
    }
}

/// <summary>A read-only stream whose bytes a subclass produces on demand, a block at a time.</summary>
internal abstract class PullStream : ReadOnlyStream
{
    private readonly ArrayBufferWriter<byte> _pending = new(1 << 19);
    private int _offset;
    private bool _done;

    /// <summary>Appends the next bytes to <paramref name="output"/>; false when there are no more.</summary>
    protected abstract ValueTask<bool> ProduceAsync(ArrayBufferWriter<byte> output, CancellationToken cancellationToken);

    protected abstract ValueTask DisposeSourcesAsync();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _pending.WrittenCount)
        {
            if (_done)
            {
                return 0;
            }
            _pending.ResetWrittenCount();
            _offset = 0;
            _done = !await ProduceAsync(_pending, cancellationToken);
        }
        var n = Math.Min(buffer.Length, _pending.WrittenCount - _offset);
        _pending.WrittenMemory.Slice(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    public override int Read(Span<byte> buffer) => throw new NotSupportedException("Read asynchronously.");
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask DisposeAsync()
    {
        await DisposeSourcesAsync();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A table entry's rows, in key order, as one COPY text stream, however they are stored.</summary>
public static class TableRows
{
    public static Stream Open(IBlobLoader loader, Node node) => RowDelta.OpenRows(loader, node);
}
