using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;

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

    private byte[] _record = new byte[256];

    /// <summary>The hash of one row given as COPY text, without its newline.</summary>
    public long Of(ReadOnlySpan<byte> copyRow)
    {
        // The longest record text: every byte a doubled quote, plus quotes, a comma per column and the parentheses.
        var most = 2 * copyRow.Length + 2 * copyRow.Count((byte)'\t') + 4;
        if (_record.Length < most)
        {
            _record = new byte[BitOperations.RoundUpToPowerOf2((uint)most)];
        }
        var record = _record;
        var at = 0;
        record[at++] = (byte)'(';
        var first = true;
        while (true)
        {
            var tab = copyRow.IndexOf((byte)'\t');
            var field = tab < 0 ? copyRow : copyRow[..tab];
            if (!first)
            {
                record[at++] = (byte)',';
            }
            first = false;
            if (!field.SequenceEqual("\\N"u8))
            {
                at = AppendValue(field, record, at);
            }
            if (tab < 0)
            {
                break;
            }
            copyRow = copyRow[(tab + 1)..];
        }
        record[at++] = (byte)')';
        return (long)HashBytesExtended(record.AsSpan(0, at));
    }

    /// <summary>Appends one non-NULL COPY text field, decoded and quoted as record_out would print it; returns the new end.</summary>
    private static int AppendValue(ReadOnlySpan<byte> field, byte[] record, int at)
    {
        if (field.IsEmpty)
        {
            record[at++] = (byte)'"';
            record[at++] = (byte)'"';
            return at;
        }
        if (field.IndexOfAny(Special) < 0)
        {
            field.CopyTo(record.AsSpan(at));
            return at + field.Length;
        }
        // Written one place to the right, where an opening quote may go; moved back if none is needed.
        var start = at;
        var end = at + 1;
        var quote = false;
        while (!field.IsEmpty)
        {
            var next = field.IndexOfAny(Special);
            if (next < 0)
            {
                field.CopyTo(record.AsSpan(end));
                end += field.Length;
                break;
            }
            field[..next].CopyTo(record.AsSpan(end));
            end += next;
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
                record[end++] = value;
                quote = true;
            }
            else if (value is (byte)'(' or (byte)')' or (byte)',' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f')
            {
                quote = true;
            }
            record[end++] = value;
        }
        if (quote)
        {
            record[start] = (byte)'"';
            record[end++] = (byte)'"';
            return end;
        }
        record.AsSpan(start + 1, end - start - 1).CopyTo(record.AsSpan(start));
        return end - 1;
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
    internal static ulong HashBytesExtended(ReadOnlySpan<byte> key)
    {
        uint a, b, c;
        a = b = c = 0x9e3779b9 + (uint)key.Length + 3923095;
        while (key.Length >= 12)
        {
            a += BinaryPrimitives.ReadUInt32LittleEndian(key);
            b += BinaryPrimitives.ReadUInt32LittleEndian(key[4..]);
            c += BinaryPrimitives.ReadUInt32LittleEndian(key[8..]);
            Mix(ref a, ref b, ref c);
            key = key[12..];
        }
        // The last 0-11 bytes; the lowest byte of c is left for the length (already added at the start).
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

    private static void Mix(ref uint a, ref uint b, ref uint c)
    {
        a -= c; a ^= BitOperations.RotateLeft(c, 4); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 6); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 8); b += a;
        a -= c; a ^= BitOperations.RotateLeft(c, 16); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 19); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 4); b += a;
    }

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
