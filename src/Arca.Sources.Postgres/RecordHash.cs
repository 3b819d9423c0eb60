using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Arca.Sources.Postgres;

/// <summary>
/// The hash PostgreSQL gives a row as <c>hashtextextended(ROW(col, ...)::text, 0)</c>, computed here from the row's
/// COPY text. Both ends can then digest the same rows: the restore as it loads them, the server as it holds them
/// afterwards, in a parallel scan that sends back one number instead of every row. (Reading a million rows back
/// over COPY cost more than loading them had; the server's own scan, spread over its parallel workers, about half.)
/// <para>
/// The record text is what <c>record_out</c> prints: each column's output text (which COPY text carries, escaped),
/// NULL as nothing, a value in double quotes when it is empty or holds a quote, backslash, parenthesis, comma or
/// white space, with quotes and backslashes doubled inside; separated by commas, in parentheses. The hash is
/// PostgreSQL's <c>hash_bytes_extended</c> (Bob Jenkins' lookup3) with seed 0, as the server computes it on a
/// little-endian machine for a deterministic collation. The bytes are the same on both ends only when the server's
/// encoding is UTF-8 (COPY text arrives in UTF-8): the caller checks that before asking the server.
/// </para>
/// Not for anything stored, and no defence against rows crafted to collide.
/// </summary>
internal sealed class RecordHash
{
    /// <summary>Bytes that make record_out quote a value (COPY text escapes start with a backslash, also here).</summary>
    private static readonly SearchValues<byte> Special = SearchValues.Create("\\\"(), \t\n\r\v\f"u8);

    /// <summary>Bytes that make record_out quote a value, as they can appear in a field of COPY text with no escape.</summary>
    private static readonly SearchValues<byte> QuotedPlain = SearchValues.Create("\"(), "u8);

    /// <summary>The record of a row of no columns: its COPY text, an empty line, would read as one empty value.</summary>
    private static readonly long NoColumns = (long)HashBytesExtended("()"u8);

    private readonly int _columns;
    // Rows whose record text may be longer are hashed as a stream (see OfStreamed).
    private readonly long _maxBuffered;
    private readonly HashStream _hash = new();
    // Per field of a streamed row: whether record_out quotes it (null for NULL).
    private readonly List<bool?> _quoted = [];
    private byte[] _record = new byte[256];

    /// <param name="columns">The table's columns: a row of none is <c>()</c>.</param>
    /// <param name="maxBuffered">Tests set it to 0 to send every row down the streamed path.</param>
    public RecordHash(int columns, long maxBuffered = 1 << 20)
    {
        _columns = columns;
        _maxBuffered = maxBuffered;
    }

    /// <summary>The hash of one row given as COPY text, without its newline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public long Of(ReadOnlySpan<byte> copyRow)
    {
        if (_columns == 0)
        {
            return NoColumns;
        }
        // The longest record text: every byte a doubled quote, plus quotes, a comma per column and the parentheses.
        var most = 2L * copyRow.Length + 2L * copyRow.Count((byte)'\t') + 4;
        return most <= _maxBuffered ? OfBuffered(copyRow, (int)most) : OfStreamed(copyRow);
    }

    /// <summary>Builds the record text in a buffer, in one pass, and hashes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long OfBuffered(ReadOnlySpan<byte> copyRow, int most)
    {
        if (_record.Length < most)
        {
            _record = new byte[BitOperations.RoundUpToPowerOf2((uint)most)];
        }
        var record = new BufferSink(_record);
        record.Put((byte)'(');
        var fields = new Fields(copyRow);
        while (fields.Next(out var field, out var first))
        {
            if (!first)
            {
                record.Put((byte)',');
            }
            if (!field.SequenceEqual("\\N"u8))
            {
                // Written one place to the right, where an opening quote may go; moved back if none is needed.
                var start = record.At++;
                if (Emit(field, ref record))
                {
                    _record[start] = (byte)'"';
                    record.Put((byte)'"');
                }
                else
                {
                    _record.AsSpan(start + 1, record.At - start - 1).CopyTo(_record.AsSpan(start));
                    record.At--;
                }
            }
        }
        record.Put((byte)')');
        return (long)HashBytesExtended(_record.AsSpan(0, record.At));
    }

    /// <summary>
    /// For a long row (a field can be hundreds of megabytes): the record text is never held whole. The hash needs its
    /// length first, so a first pass measures it and a second streams it through the hash.
    /// </summary>
    private long OfStreamed(ReadOnlySpan<byte> copyRow)
    {
        _quoted.Clear();
        long length = 2; // the parentheses
        var fields = new Fields(copyRow);
        while (fields.Next(out var field, out var first))
        {
            length += first ? 0 : 1; // the comma
            if (field.SequenceEqual("\\N"u8))
            {
                _quoted.Add(null);
                continue;
            }
            var counter = new Counter();
            var quote = Emit(field, ref counter);
            _quoted.Add(quote);
            length += counter.Bytes + (quote ? 2 : 0);
        }

        _hash.Start((uint)length);
        _hash.Put((byte)'(');
        fields = new Fields(copyRow);
        for (var i = 0; fields.Next(out var field, out var first); i++)
        {
            if (!first)
            {
                _hash.Put((byte)',');
            }
            if (_quoted[i] is { } quote)
            {
                var hash = _hash;
                if (quote)
                {
                    hash.Put((byte)'"');
                }
                Emit(field, ref hash);
                if (quote)
                {
                    hash.Put((byte)'"');
                }
            }
        }
        _hash.Put((byte)')');
        return (long)_hash.Finish();
    }

    /// <summary>The tab-separated fields of a row of COPY text, in order (a row ending in a tab ends in an empty field).</summary>
    private ref struct Fields(ReadOnlySpan<byte> row)
    {
        private ReadOnlySpan<byte> _rest = row;
        private bool _started;
        private bool _done;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Next(out ReadOnlySpan<byte> field, out bool first)
        {
            first = !_started;
            _started = true;
            if (_done)
            {
                field = default;
                return false;
            }
            var tab = _rest.IndexOf((byte)'\t');
            if (tab < 0)
            {
                field = _rest;
                _done = true;
            }
            else
            {
                field = _rest[..tab];
                _rest = _rest[(tab + 1)..];
            }
            return true;
        }
    }

    /// <summary>Where <see cref="Emit{TSink}"/> puts a value's bytes: a count of them, or the hash.</summary>
    private interface ISink
    {
        void Put(byte value);
        void Put(ReadOnlySpan<byte> run);
    }

    private struct BufferSink(byte[] buffer) : ISink
    {
        public int At;

        public void Put(byte value) => buffer[At++] = value;

        public void Put(ReadOnlySpan<byte> run)
        {
            run.CopyTo(buffer.AsSpan(At));
            At += run.Length;
        }
    }

    private struct Counter : ISink
    {
        public long Bytes;

        public void Put(byte value) => Bytes++;

        public void Put(ReadOnlySpan<byte> run) => Bytes += run.Length;
    }

    /// <summary>
    /// Puts one non-NULL COPY text field as record_out prints it, without the quotes around it: decoded, with quotes and
    /// backslashes doubled. Returns whether record_out quotes it: when it is empty, or holds a quote, backslash,
    /// parenthesis, comma or white space.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Emit<TSink>(ReadOnlySpan<byte> field, ref TSink sink) where TSink : ISink
    {
        if (!field.Contains((byte)'\\'))
        {
            // Most fields: no escape, so no control character either (COPY escapes those), and only quotes to double.
            // One search decides the quoting, and the text goes out in runs between quotes.
            var quoted = field.IsEmpty || field.ContainsAny(QuotedPlain);
            while (field.IndexOf((byte)'"') is var at and >= 0)
            {
                sink.Put(field[..(at + 1)]);
                sink.Put((byte)'"');
                field = field[(at + 1)..];
            }
            sink.Put(field);
            return quoted;
        }
        var quote = field.IsEmpty;
        while (!field.IsEmpty)
        {
            var next = field.IndexOfAny(Special);
            if (next < 0)
            {
                sink.Put(field);
                break;
            }
            sink.Put(field[..next]);
            byte value;
            if (field[next] == (byte)'\\')
            {
                (value, var used) = Unescape(field[(next + 1)..]);
                field = field[(next + 1 + used)..];
            }
            else
            {
                value = field[next];
                field = field[(next + 1)..];
            }
            if (value is (byte)'"' or (byte)'\\')
            {
                sink.Put(value);
                quote = true;
            }
            else if (value is (byte)'(' or (byte)')' or (byte)',' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f')
            {
                quote = true;
            }
            sink.Put(value);
        }
        return quote;
    }

    /// <summary>
    /// <see cref="HashBytesExtended"/> over bytes put in pieces, whose total length is known before the first: the
    /// hash mixes each 12 bytes as they come, through a buffer of its own.
    /// </summary>
    private sealed class HashStream : ISink
    {
        private readonly byte[] _buffer = new byte[12 * 1024];
        private int _filled;
        private uint _a, _b, _c;

        public void Start(uint length)
        {
            _a = _b = _c = Initial(length);
            _filled = 0;
        }

        public void Put(byte value)
        {
            if (_filled == _buffer.Length)
            {
                Drain();
            }
            _buffer[_filled++] = value;
        }

        public void Put(ReadOnlySpan<byte> run)
        {
            while (!run.IsEmpty)
            {
                if (_filled == _buffer.Length)
                {
                    Drain();
                }
                var n = Math.Min(run.Length, _buffer.Length - _filled);
                run[..n].CopyTo(_buffer.AsSpan(_filled));
                _filled += n;
                run = run[n..];
            }
        }

        public ulong Finish()
        {
            var tail = MixBlocks(ref _a, ref _b, ref _c, _buffer.AsSpan(0, _filled));
            return Final(_a, _b, _c, tail);
        }

        /// <summary>Mixes the whole buffer: its length is a multiple of 12.</summary>
        private void Drain()
        {
            MixBlocks(ref _a, ref _b, ref _c, _buffer);
            _filled = 0;
        }
    }

    /// <summary>
    /// What a backslash escape of COPY text stands for, as COPY FROM reads it, and how many bytes after the backslash
    /// it used: <c>\b \f \n \r \t \v</c>, up to three octal digits, <c>\x</c> and up to two hex digits, else the byte itself.
    /// </summary>
    private static (byte Value, int Used) Unescape(ReadOnlySpan<byte> after)
    {
        if (after.IsEmpty)
        {
            return ((byte)'\\', 0);
        }
        var c = after[0];
        switch (c)
        {
            case (byte)'b': return (0x08, 1);
            case (byte)'f': return (0x0C, 1);
            case (byte)'n': return (0x0A, 1);
            case (byte)'r': return (0x0D, 1);
            case (byte)'t': return (0x09, 1);
            case (byte)'v': return (0x0B, 1);
            case >= (byte)'0' and <= (byte)'7':
            {
                var value = 0;
                var used = 0;
                while (used < 3 && used < after.Length && after[used] is >= (byte)'0' and <= (byte)'7')
                {
                    value = value * 8 + (after[used++] - '0');
                }
                return ((byte)value, used);
            }
            case (byte)'x' when after.Length > 1 && IsHex(after[1]):
            {
                var value = HexValue(after[1]);
                if (after.Length > 2 && IsHex(after[2]))
                {
                    return ((byte)(value * 16 + HexValue(after[2])), 3);
                }
                return ((byte)value, 2);
            }
            default:
                return (c, 1);
        }
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    /// <summary>PostgreSQL's <c>hash_bytes_extended</c> (src/common/hashfn.c) with seed 0, little-endian.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static ulong HashBytesExtended(ReadOnlySpan<byte> key)
    {
        uint a, b, c;
        a = b = c = Initial((uint)key.Length);
        var tail = MixBlocks(ref a, ref b, ref c, key); // before a, b and c are read for Final
        return Final(a, b, c, tail);
    }

    private static uint Initial(uint length) => 0x9e3779b9 + length + 3923095;

    /// <summary>Mixes every whole 12 bytes of <paramref name="key"/> in; returns the 0-11 left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ReadOnlySpan<byte> MixBlocks(ref uint aState, ref uint bState, ref uint cState, ReadOnlySpan<byte> key)
    {
        // Locals, written back once: state reached through refs is kept in memory, and the loop ran at half speed.
        uint a = aState, b = bState, c = cState;
        while (key.Length >= 12)
        {
            a += BinaryPrimitives.ReadUInt32LittleEndian(key);
            b += BinaryPrimitives.ReadUInt32LittleEndian(key[4..]);
            c += BinaryPrimitives.ReadUInt32LittleEndian(key[8..]);
            (a, b, c) = Mix(a, b, c);
            key = key[12..];
        }
        (aState, bState, cState) = (a, b, c);
        return key;
    }

    /// <summary>Adds the last 0-11 bytes (the lowest byte of c is left for the length, added at the start) and finishes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Final(uint a, uint b, uint c, ReadOnlySpan<byte> key)
    {
        switch (key.Length)
        {
            case 11:
                c += (uint)key[10] << 24;
                goto case 10;
            case 10:
                c += (uint)key[9] << 16;
                goto case 9;
            case 9:
                c += (uint)key[8] << 8;
                goto case 8;
            case 8:
                b += BinaryPrimitives.ReadUInt32LittleEndian(key[4..]);
                a += BinaryPrimitives.ReadUInt32LittleEndian(key);
                break;
            case 7:
                b += (uint)key[6] << 16;
                goto case 6;
            case 6:
                b += (uint)key[5] << 8;
                goto case 5;
            case 5:
                b += key[4];
                goto case 4;
            case 4:
                a += BinaryPrimitives.ReadUInt32LittleEndian(key);
                break;
            case 3:
                a += (uint)key[2] << 16;
                goto case 2;
            case 2:
                a += (uint)key[1] << 8;
                goto case 1;
            case 1:
                a += key[0];
                break;
        }
        Final(ref a, ref b, ref c);
        return ((ulong)b << 32) | c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (uint A, uint B, uint C) Mix(uint a, uint b, uint c)
    {
        a -= c; a ^= BitOperations.RotateLeft(c, 4); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 6); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 8); b += a;
        a -= c; a ^= BitOperations.RotateLeft(c, 16); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 19); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 4); b += a;
        return (a, b, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Final(ref uint a, ref uint b, ref uint c)
    {
        c ^= b; c -= BitOperations.RotateLeft(b, 14);
        a ^= c; a -= BitOperations.RotateLeft(c, 11);
        b ^= a; b -= BitOperations.RotateLeft(a, 25);
        c ^= b; c -= BitOperations.RotateLeft(b, 16);
        a ^= c; a -= BitOperations.RotateLeft(c, 4);
        b ^= a; b -= BitOperations.RotateLeft(a, 14);
        c ^= b; c -= BitOperations.RotateLeft(b, 24);
    }
}
