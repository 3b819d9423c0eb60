using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Arca.Native;

namespace Arca.Sources.Postgres;

/// <summary>
/// Reads a table's rows in primary-key order without asking the server to sort or walk the key's index: the
/// rows are read as they lie (a sequential scan, what pg_dump does), and the few that lie out of key order are
/// fetched first, by key, and merged in where they belong.
/// <para>
/// Why: <c>COPY (SELECT ... ORDER BY id)</c> runs as an index scan, and on the bench fixture's items (1,000,000
/// rows, 261 MB) it took 3.2 s against 2.3-2.4 s for the table as it lies, while a scan of the key column alone
/// took 0.35 s. Tables are mostly in key order on disk: rows are appended as keys grow, and an update that
/// fits in its page stays where it was. The rows stored are byte for byte those ORDER BY would give, so
/// checksums and the record-level deltas, which merge by key, are unchanged.
/// </para>
/// <para>
/// How: a first scan reads the key column as it lies and picks the rows to keep in place: the longest run of
/// ascending keys (<see cref="LateKeys"/>); the others are "late". On the fixture, 3,981 of 1,000,000 rows were
/// late (new rows fill space left in earlier pages); after the bench's two rounds of updates, 18,856. The late
/// rows are fetched by key, in order, and held in memory (bounded: past <see cref="MaxLateBytes"/>, the table is
/// read with ORDER BY instead). The second scan reads every row as it lies, drops the late ones and merges the
/// held ones in. Both scans run in the backup's one snapshot, with synchronized scans and parallel plans off, so
/// they meet the rows in the same order; the merge checks that every late row was met once and that the keys it
/// writes ascend. For the largest tables the second scan does not wait for the first: it starts beside it, on
/// another connection, and is read ahead until the late rows are known (<see cref="DatabaseRead.ScannedTable"/>).
/// </para>
/// </summary>
internal static class PhysicalScan
{
    /// <summary>
    /// Smaller tables are read with ORDER BY: their index scan costs little, and the first scan and the round trips
    /// would cost more than it saves.
    /// </summary>
    public const long MinTableBytes = 32 << 20;

    /// <summary>
    /// Late rows are held in memory up to about this many bytes: estimated from the table's size before they are
    /// fetched, counted while they are (a table's size on disk can be far from its COPY text's).
    /// </summary>
    private const long MaxLateBytes = 32 << 20;

    /// <summary>The late keys themselves are counted up to this many (16 bytes each, and a set's upkeep).</summary>
    private const int MaxLateKeys = 1 << 20;

    /// <summary>Below this key correlation (pg_stats), the rows lie too far from key order to be worth a try.</summary>
    private const double MinCorrelation = 0.9;

    /// <summary>
    /// A table's columns read as its rows lie. COPY of a table, not of a query: it reads the table's pages in order
    /// (never an index, never a parallel plan, nor its inheritance children), and as nothing is planned no index is
    /// locked, so a REINDEX running meanwhile does not hold the scan up (see <see cref="PostgresErrors.BackupLockTimeout"/>).
    /// </summary>
    private static string AsTheyLie(PgTable table, IEnumerable<PgColumn> columns) =>
        $"COPY {table.Name.Sql} ({string.Join(", ", columns.Select(c => TableName.Ident(c.Name)))}) TO STDOUT";

    /// <summary>
    /// Whether the table's rows lie near enough to the order of its key <paramref name="key"/> to be read as they lie, by
    /// the planner's statistics (tables never analyzed get a try).
    /// </summary>
    public static bool LiesNearKeyOrder(PgNativeConnection connection, PgTable table, PgColumn key) => connection.Execute(
        $"SELECT correlation FROM pg_catalog.pg_stats WHERE schemaname = {TableName.Literal(table.Name.Schema)} " +
        $"AND tablename = {TableName.Literal(table.Name.Name)} AND attname = {TableName.Literal(key.Name)}") is not { } correlation ||
        double.Parse(correlation, CultureInfo.InvariantCulture) >= MinCorrelation;

    /// <summary>
    /// How a table's rows will be read in key order (<see cref="Plan.Merge"/>): its late rows, found by a scan of the key
    /// column and fetched by key. <paramref name="keyColumn"/> is the single key column among <paramref name="columns"/>
    /// (those read), an integer or uuid. Null when the table should be read with ORDER BY instead (its rows lie too far
    /// from key order). Runs on <paramref name="connection"/>, which must be in the backup's snapshot; any connection in
    /// it can then open the plan.
    /// </summary>
    public static async Task<Plan?> PlanAsync(PgNativeConnection connection, PgTable table, IReadOnlyList<PgColumn> columns, int keyColumn,
        CancellationToken cancellationToken)
    {
        var key = columns[keyColumn];
        var numeric = KeyOrder.IsInteger(key.Type);
        var keySql = "t." + TableName.Ident(key.Name);
        if (!LiesNearKeyOrder(connection, table, key))
        {
            return null;
        }

        // The statements of this method block inside libpq; a cancel is sent to the server, which then fails them.
        using var cancel = cancellationToken.Register(connection.Cancel);
        var late = new LateKeys(MaxLateKeys);
        connection.StartCopyOut(AsTheyLie(table, [key]));
        await using (var keys = new NativeCopyStream(connection))
        using (var lines = new LineReader(keys))
        {
            while (await lines.NextAsync(cancellationToken) is { } line)
            {
                late.Add(KeyValue(line.Span, numeric));
            }
        }
        late.Complete();
        var rowBytes = Math.Max(1, table.EstimatedBytes / Math.Max(1, late.Rows));
        if (late.TooMany || late.Late.Count * rowBytes > MaxLateBytes)
        {
            return null;
        }

        var select = SelectOf(table, columns);
        var held = new List<byte[]>(late.Late.Count);
        if (late.Late.Count > 0)
        {
            var literal = $"'{{{string.Join(",", late.Late.Select(k => KeyText(k.Key, numeric)))}}}'::{key.Type}[]";
            connection.StartCopyOut($"COPY ({select} WHERE {keySql} = ANY({literal}) ORDER BY {keySql}) TO STDOUT");
            await using var stream = new NativeCopyStream(connection);
            using var lines = new LineReader(stream);
            long heldBytes = 0;
            while (await lines.NextAsync(cancellationToken) is { } line)
            {
                // Past the bound, the rest is read through (a COPY is stopped only by a cancel, which fails the
                // transaction of this planner, still needed for the next table) and the table read with ORDER BY.
                if ((heldBytes += line.Length) <= 2 * MaxLateBytes)
                {
                    held.Add(line.ToArray());
                }
            }
            if (heldBytes > 2 * MaxLateBytes)
            {
                return null;
            }
            if (held.Count != late.Late.Count)
            {
                throw new ArcaException(ErrorCode.DatabaseFailed,
                    $"{late.Late.Count} rows of {table.Name} were seen out of key order, but {held.Count} were found by their keys within the same snapshot.",
                    "Run the backup again; if it keeps failing, report it with the table's definition.");
            }
        }
        return new Plan(table, late.Late, held, keyColumn, numeric);
    }

    private static string SelectOf(PgTable table, IReadOnlyList<PgColumn> columns) =>
        $"SELECT {string.Join(", ", columns.Select(c => "t." + TableName.Ident(c.Name)))} FROM ONLY {table.Name.Sql} AS t";

    /// <summary>
    /// Starts the scan of a table's rows as they lie on <paramref name="connection"/> (in the backup's snapshot), read
    /// ahead into memory up to <paramref name="readAheadChunks"/> MiB. <see cref="Plan.Merge"/> puts them in key order.
    /// </summary>
    public static Stream StartRows(PgNativeConnection connection, PgTable table, IReadOnlyList<PgColumn> columns, int readAheadChunks)
    {
        connection.StartCopyOut(AsTheyLie(table, columns));
        return readAheadChunks > 0 ? new CopyReadAhead(connection, readAheadChunks) : new NativeCopyStream(connection);
    }

    /// <summary>A table's late rows, held, and what is needed to merge them into its rows as they lie.</summary>
    internal sealed record Plan(PgTable Table, IReadOnlyList<LateRow> Late, List<byte[]> Held, int KeyColumn, bool Numeric)
    {
        /// <summary>The table's rows as they lie (<see cref="StartRows"/>), in key order.</summary>
        public Stream Merge(Stream rows) => new MergedScan(this, rows);
    }

    /// <summary>
    /// A key as a number whose unsigned order is the key's order in PostgreSQL: an integer with its sign bit
    /// flipped, a uuid's 128 bits (uuids order as their bytes do).
    /// </summary>
    internal static UInt128 KeyValue(ReadOnlySpan<byte> text, bool numeric)
    {
        if (numeric)
        {
            return Utf8Parser.TryParse(text, out long value, out var used) && used == text.Length
                ? (UInt128)(ulong)(value ^ long.MinValue)
                : throw new InvalidDataException($"A key value '{Encoding.UTF8.GetString(text)}' is not an integer.");
        }
        UInt128 bits = 0;
        var digits = 0;
        foreach (var b in text)
        {
            if (b == '-')
            {
                continue;
            }
            var nibble = b is >= (byte)'0' and <= (byte)'9' ? b - '0' : b is >= (byte)'a' and <= (byte)'f' ? b - 'a' + 10 : -1;
            if (nibble < 0 || ++digits > 32)
            {
                throw new InvalidDataException($"A key value '{Encoding.UTF8.GetString(text)}' is not a uuid.");
            }
            bits = (bits << 4) | (uint)nibble;
        }
        return digits == 32 ? bits : throw new InvalidDataException($"A key value '{Encoding.UTF8.GetString(text)}' is not a uuid.");
    }

    /// <summary>A key value back as PostgreSQL writes it.</summary>
    internal static string KeyText(UInt128 value, bool numeric)
    {
        if (numeric)
        {
            return ((long)(ulong)value ^ long.MinValue).ToString(CultureInfo.InvariantCulture);
        }
        var hex = ((ulong)(value >> 64)).ToString("x16", CultureInfo.InvariantCulture) + ((ulong)value).ToString("x16", CultureInfo.InvariantCulture);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    private static ArcaException OrderChanged(PgTable table) => new(ErrorCode.DatabaseFailed,
        $"The rows of {table.Name} did not come out the same way twice within one snapshot, so their key order could not be kept.",
        "Run the backup again; if it keeps failing, report it with the table's definition.");

    /// <summary>The rows as they lie, the late ones dropped, the held ones (late rows in key order) merged in.</summary>
    private sealed class MergedScan(Plan plan, Stream scan) : PullStream
    {
        private readonly LineReader _lines = new(scan);
        private UInt128? _lastOut;
        private int _nextHeld;
        private long _position;
        private int _nextLate;

        protected override async ValueTask<bool> ProduceAsync(ArrayBufferWriter<byte> output, CancellationToken cancellationToken)
        {
            var start = output.WrittenCount;
            while (output.WrittenCount - start < 1 << 18)
            {
                if (await _lines.NextAsync(cancellationToken) is not { } line)
                {
                    while (_nextHeld < plan.Held.Count)
                    {
                        var row = plan.Held[_nextHeld++];
                        Emit(output, row, KeyOf(row));
                    }
                    if (_nextLate != plan.Late.Count)
                    {
                        throw OrderChanged(plan.Table);
                    }
                    return output.WrittenCount > start;
                }
                var key = KeyOf(line.Span);
                // Late rows are known by their place in the first scan, which this one repeats row for row (one
                // snapshot, sequential, not synchronized): a comparison a row, where a set's lookup cost 5% of a backup.
                if (_nextLate < plan.Late.Count && plan.Late[_nextLate].Position == _position++)
                {
                    if (plan.Late[_nextLate++].Key != key)
                    {
                        throw OrderChanged(plan.Table);
                    }
                    continue; // a late row: it goes out from the held ones, in its place
                }
                while (_nextHeld < plan.Held.Count && KeyOf(plan.Held[_nextHeld]) is var heldKey && heldKey < key)
                {
                    Emit(output, plan.Held[_nextHeld++], heldKey);
                }
                Emit(output, line.Span, key);
            }
            return true;
        }

        /// <summary>Writes a row, checking that keys go out strictly ascending.</summary>
        private void Emit(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> row, UInt128 key)
        {
            if (_lastOut >= key)
            {
                throw OrderChanged(plan.Table);
            }
            _lastOut = key;
            output.Write(row);
            output.Write("\n"u8);
        }

        private UInt128 KeyOf(ReadOnlySpan<byte> row)
        {
            var start = 0;
            for (var i = 0; i < plan.KeyColumn; i++)
            {
                var tab = row[start..].IndexOf((byte)'\t');
                if (tab < 0)
                {
                    throw new InvalidDataException($"A row of {plan.Table.Name} has fewer fields than its columns.");
                }
                start += tab + 1;
            }
            var end = row[start..].IndexOf((byte)'\t');
            return KeyValue(end < 0 ? row[start..] : row.Slice(start, end), plan.Numeric);
        }

        protected override async ValueTask DisposeSourcesAsync()
        {
            _lines.Dispose();
            await scan.DisposeAsync();
        }
    }
}

/// <summary>A row out of key order: its place in the scan of the table as it lies (from 0), and its key.</summary>
internal readonly record struct LateRow(long Position, UInt128 Key);

/// <summary>
/// Picks, from keys in the order their rows lie, the rows to leave in place: the longest run of ascending keys
/// (a longest increasing subsequence), so one row parked far from its neighbours (a new row in an old page's
/// free space, an updated row moved to the end) costs one late row, not every row up to the next larger key.
/// Memory stays bounded on tables of any size: the keys are taken a window at a time (<see cref="Window"/>),
/// and each window's choice is made with <see cref="Lookahead"/> keys after it in view, so a row near a
/// window's end is not kept just because what follows it is not yet seen; past <c>maxLate</c> late keys, no
/// more are kept (<see cref="TooMany"/>: the table lies too far from key order for this to pay).
/// </summary>
internal sealed class LateKeys(int maxLate)
{
    private const int Window = 1 << 18;
    private const int Lookahead = 1 << 15;

    private readonly List<UInt128> _pending = [];
    private UInt128? _lastKept;

    /// <summary>The rows that are not left in place, by their place in the scan (ascending) and their key.</summary>
    public List<LateRow> Late { get; } = [];

    /// <summary>More than the most late keys kept: <see cref="Late"/> is then incomplete.</summary>
    public bool TooMany { get; private set; }

    public long Rows { get; private set; }

    public void Add(UInt128 key)
    {
        _pending.Add(key);
        Rows++;
        if (_pending.Count == Window + Lookahead)
        {
            Decide(Window);
        }
    }

    public void Complete() => Decide(_pending.Count);

    /// <summary>Settles the first <paramref name="count"/> pending keys: the longest ascending run among all pending ones above the last kept key.</summary>
    private void Decide(int count)
    {
        var n = _pending.Count;
        var previous = new int[n];
        var tails = new int[n];
        var length = 0;
        for (var i = 0; i < n; i++)
        {
            var key = _pending[i];
            if (_lastKept >= key)
            {
                continue;
            }
            int lo = 0, hi = length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_pending[tails[mid]] < key)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }
            previous[i] = lo > 0 ? tails[lo - 1] : -1;
            tails[lo] = i;
            length = Math.Max(length, lo + 1);
        }
        var first = Rows - n; // the place in the scan of the first pending key
        var kept = new bool[n];
        for (var i = length > 0 ? tails[length - 1] : -1; i >= 0; i = previous[i])
        {
            kept[i] = true;
        }
        for (var i = 0; i < count; i++)
        {
            if (kept[i])
            {
                _lastKept = _pending[i];
            }
            else if (Late.Count >= maxLate)
            {
                TooMany = true;
            }
            else
            {
                Late.Add(new LateRow(first + i, _pending[i]));
            }
        }
        _pending.RemoveRange(0, count);
    }
}
