using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>
/// Rewrites rows of COPY text in COPY's binary format, for a table whose every column is of a built-in type written
/// here (integers, boolean, the text types, json and jsonb, bytea, floats, numeric, uuid, date, timestamps, and arrays
/// of those). A whole-database restore loads such a table with <c>COPY ... (FORMAT binary)</c>: the server then parses
/// no text, which on the benchmark's items table took COPY from 3.0 to 1.9 s (psql, the same rows as text and as binary).
/// </summary>
/// <remarks>
/// The text is what the snapshot holds, printed by a session set up as <see cref="PostgresErrors.SessionSettings"/> says
/// (ISO dates in UTC, exact floats, hex bytea), so each type's text has one known shape. The snapshot's checksum covers
/// that text, and a restore's read-back compares the restored table's text with it: a value this class wrote wrongly
/// would fail the restore's verification. With <c>--no-verify</c> nothing reads the table back, and the rewrite stands on
/// its tests (BinaryCopyTests). One instance per connection: it keeps scratch buffers.
/// </remarks>
internal sealed partial class BinaryCopy
{
    private enum Kind { Int2, Int4, Int8, Bool, Text, Jsonb, Bytea, Float4, Float8, Numeric, Uuid, Date, Timestamp, TimestampTz }

    /// <param name="ElementOid">The oid of the column's type, or of its elements for an array.</param>
    private readonly record struct Column(Kind Kind, bool IsArray, int ElementOid);

    private readonly Column[] _columns;
    private readonly Output _elements = new();
    private readonly List<int> _dims = [];
    private readonly List<int> _lowerBounds = [];
    private byte[] _scratch = new byte[256];
    private byte[] _quoted = new byte[256];

    private BinaryCopy(Column[] columns) => _columns = columns;

    /// <summary>A converter for <paramref name="table"/>'s rows, or null if a column's type is not one written here.</summary>
    public static BinaryCopy? For(TableInfo table)
    {
        if (table.Columns.Count == 0)
        {
            return null;
        }
        var columns = new Column[table.Columns.Count];
        for (var i = 0; i < columns.Length; i++)
        {
            var type = table.Columns[i].Type;
            var isArray = type.EndsWith("[]", StringComparison.Ordinal);
            if (KindOf(isArray ? type[..^2] : type) is not { } kind)
            {
                return null;
            }
            columns[i] = new Column(kind.Kind, isArray, kind.Oid);
        }
        return new BinaryCopy(columns);
    }

    /// <summary>
    /// Whether <paramref name="table"/>'s rows can go as binary into the table of that name on <paramref name="connection"/>:
    /// <see cref="For"/> knows every column's type by the name the snapshot records, and the target's column of that name
    /// is that very type (by oid) or an array of it. A name alone could mislead: format_type prints a domain or a type of
    /// another schema unqualified when the backup's search_path finds it before pg_catalog's.
    /// </summary>
    public static async Task<bool> FitsAsync(NpgsqlConnection connection, TableInfo table, CancellationToken cancellationToken)
    {
        if (For(table) is not { } copy)
        {
            return false;
        }
        await using var cmd = new NpgsqlCommand(
            """
            SELECT a.attname::text, a.atttypid::int, t.typelem::int, coalesce(e.typarray = t.oid, false)
            FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
              LEFT JOIN pg_catalog.pg_type AS e ON e.oid = t.typelem
            WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
            """, connection);
        cmd.Parameters.AddWithValue(new TableName(table.Schema, table.Name).Sql);
        var target = new Dictionary<string, (int Type, int Element, bool IsArrayOfElement)>(StringComparer.Ordinal);
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                // An array is the one its element type names as its own (typarray): not a domain over one, nor a
                // fixed-length array type such as int2vector.
                target[reader.GetString(0)] = (reader.GetInt32(1), reader.GetInt32(2), reader.GetBoolean(3));
            }
        }
        for (var i = 0; i < copy._columns.Length; i++)
        {
            var column = copy._columns[i];
            if (!target.TryGetValue(table.Columns[i].Name, out var found)
                || (column.IsArray ? !found.IsArrayOfElement || found.Element != column.ElementOid : found.Type != column.ElementOid))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A built-in type as format_type spells it (its typmod aside), and its oid; null for any other.</summary>
    private static (Kind Kind, int Oid)? KindOf(string type) => Typmod().Replace(type, "") switch
    {
        "smallint" => (Kind.Int2, 21),
        "integer" => (Kind.Int4, 23),
        "bigint" => (Kind.Int8, 20),
        "boolean" => (Kind.Bool, 16),
        "text" => (Kind.Text, 25),
        "character varying" => (Kind.Text, 1043),
        "character" => (Kind.Text, 1042),
        "json" => (Kind.Text, 114),
        "jsonb" => (Kind.Jsonb, 3802),
        "bytea" => (Kind.Bytea, 17),
        "real" => (Kind.Float4, 700),
        "double precision" => (Kind.Float8, 701),
        "numeric" => (Kind.Numeric, 1700),
        "uuid" => (Kind.Uuid, 2950),
        "date" => (Kind.Date, 1082),
        "timestamp without time zone" => (Kind.Timestamp, 1114),
        "timestamp with time zone" => (Kind.TimestampTz, 1184),
        _ => null,
    };

    [GeneratedRegex(@"\(\d+(,\d+)?\)")]
    private static partial Regex Typmod();

    /// <summary>What a binary COPY begins with: the signature, no flags, no header extension.</summary>
    public static ReadOnlySpan<byte> Header => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>What a binary COPY ends with: a field count of -1.</summary>
    public static ReadOnlySpan<byte> Trailer => [0xFF, 0xFF];

    /// <summary>
    /// Rewrites whole rows of COPY text (each ending at a newline; the last may lack it) into <paramref name="output"/>,
    /// which is cleared first; returns the binary rows, valid until the next call.
    /// </summary>
    public ReadOnlyMemory<byte> ToBinary(ReadOnlySpan<byte> text, Output output)
    {
        output.Clear();
        while (!text.IsEmpty)
        {
            var newline = text.IndexOf((byte)'\n');
            var row = newline < 0 ? text : text[..newline];
            text = newline < 0 ? default : text[(newline + 1)..];
            output.Int16((short)_columns.Length);
            for (var i = 0; i < _columns.Length; i++)
            {
                var tab = row.IndexOf((byte)'\t');
                if (i + 1 == _columns.Length)
                {
                    tab = tab < 0 ? row.Length : throw Malformed(i, row, "is followed by more fields than the table has columns");
                }
                else if (tab < 0)
                {
                    throw Malformed(i, row, "ends its row: the row has fewer fields than the table has columns");
                }
                var field = row[..tab];
                row = tab < row.Length ? row[(tab + 1)..] : default;
                if (field.SequenceEqual("\\N"u8))
                {
                    output.Int32(-1);
                    continue;
                }
                // Most fields hold no backslash: they are read where they lie.
                if (field.IndexOf((byte)'\\') >= 0)
                {
                    field = Unescaped(field);
                }
                var column = _columns[i];
                if (column.IsArray)
                {
                    WriteArray(column, field, output, i);
                }
                else
                {
                    WriteValue(column.Kind, field, output, i);
                }
            }
        }
        return output.Written;
    }

    private Span<byte> Unescaped(ReadOnlySpan<byte> field)
    {
        if (_scratch.Length < field.Length)
        {
            _scratch = new byte[Math.Max(field.Length, _scratch.Length * 2)];
        }
        return _scratch.AsSpan(0, CopyTextReader.Unescape(field, _scratch));
    }

    /// <summary>Writes one value's length and binary form.</summary>
    private static void WriteValue(Kind kind, ReadOnlySpan<byte> text, Output output, int column)
    {
        switch (kind)
        {
            case Kind.Int2:
                output.Int32(2);
                output.Int16(checked((short)ParseInteger(text, column)));
                break;
            case Kind.Int4:
                output.Int32(4);
                output.Int32(checked((int)ParseInteger(text, column)));
                break;
            case Kind.Int8:
                output.Int32(8);
                output.Int64(ParseInteger(text, column));
                break;
            case Kind.Bool:
                output.Int32(1);
                output.Byte(text.SequenceEqual("t"u8) ? (byte)1 : text.SequenceEqual("f"u8) ? (byte)0 : throw Malformed(column, text, "is not a boolean"));
                break;
            case Kind.Text:
                output.Int32(text.Length);
                output.Bytes(text);
                break;
            case Kind.Jsonb:
                // jsonb's binary form is a version byte (1) and the JSON text.
                output.Int32(text.Length + 1);
                output.Byte(1);
                output.Bytes(text);
                break;
            case Kind.Bytea:
                WriteBytea(text, output, column);
                break;
            case Kind.Float4:
                output.Int32(4);
                // NaN as float4in stores it (.NET's NaN has the sign bit set: the same value, other bytes).
                output.Int32(text.SequenceEqual("NaN"u8) ? 0x7FC00000
                    : BitConverter.SingleToInt32Bits(float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var single)
                        ? single : throw Malformed(column, text, "is not a real")));
                break;
            case Kind.Float8:
                output.Int32(8);
                output.Int64(text.SequenceEqual("NaN"u8) ? 0x7FF8000000000000
                    : BitConverter.DoubleToInt64Bits(double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var dbl)
                        ? dbl : throw Malformed(column, text, "is not a double precision")));
                break;
            case Kind.Numeric:
                WriteNumeric(text, output, column);
                break;
            case Kind.Uuid:
                WriteUuid(text, output, column);
                break;
            case Kind.Date:
                output.Int32(4);
                output.Int32(ParseDate(text, column));
                break;
            case Kind.Timestamp:
            case Kind.TimestampTz:
                output.Int32(8);
                output.Int64(ParseTimestamp(text, kind == Kind.TimestampTz, column));
                break;
        }
    }

    private static long ParseInteger(ReadOnlySpan<byte> text, int column) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : throw Malformed(column, text, "is not an integer");

    /// <summary>bytea as the session prints it: <c>\x</c> and two hex digits a byte.</summary>
    private static void WriteBytea(ReadOnlySpan<byte> text, Output output, int column)
    {
        if (!text.StartsWith("\\x"u8) || text.Length % 2 != 0)
        {
            throw Malformed(column, text, "is not bytea in hex");
        }
        var hex = text[2..];
        output.Int32(hex.Length / 2);
        if (System.Convert.FromHexString(hex, output.Reserve(hex.Length / 2), out _, out _) != System.Buffers.OperationStatus.Done)
        {
            throw Malformed(column, text, "is not bytea in hex");
        }
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private static void WriteUuid(ReadOnlySpan<byte> text, Output output, int column)
    {
        output.Int32(16);
        var bytes = output.Reserve(16);
        var n = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '-')
            {
                continue;
            }
            if (n == 16 || i + 1 >= text.Length || (HexValue(text[i]) | HexValue(text[i + 1])) < 0)
            {
                throw Malformed(column, text, "is not a uuid");
            }
            bytes[n++] = (byte)(HexValue(text[i]) << 4 | HexValue(text[i + 1]));
            i++;
        }
        if (n != 16)
        {
            throw Malformed(column, text, "is not a uuid");
        }
    }

    /// <summary>
    /// numeric's binary form: digit count, weight (of the first base-10000 digit), sign, display scale, then the digits in
    /// base 10000, with no zero digit at either end. The text is plain decimal (numeric_out never writes an exponent).
    /// </summary>
    private static void WriteNumeric(ReadOnlySpan<byte> text, Output output, int column)
    {
        ushort sign = 0;
        switch (text)
        {
            case var t when t.SequenceEqual("NaN"u8): sign = 0xC000; break;
            case var t when t.SequenceEqual("Infinity"u8): sign = 0xD000; break;
            case var t when t.SequenceEqual("-Infinity"u8): sign = 0xF000; break;
        }
        if (sign != 0)
        {
            output.Int32(8);
            output.Int16(0);
            output.Int16(0);
            output.Int16((short)sign);
            output.Int16(0);
            return;
        }
        var digits = text;
        if (digits.StartsWith("-"u8))
        {
            sign = 0x4000;
            digits = digits[1..];
        }
        var point = digits.IndexOf((byte)'.');
        var whole = point < 0 ? digits : digits[..point];
        var fraction = point < 0 ? default : digits[(point + 1)..];
        if (whole.IsEmpty || whole.ContainsAnyExceptInRange((byte)'0', (byte)'9') || fraction.ContainsAnyExceptInRange((byte)'0', (byte)'9')
            || (point >= 0 && fraction.IsEmpty) || fraction.Length > 16383)
        {
            throw Malformed(column, text, "is not a numeric");
        }
        whole = whole.TrimStart((byte)'0');
        // Base-10000 digits aligned on the decimal point: the whole part padded on the left, the fraction on the right.
        var wholeGroups = (whole.Length + 3) / 4;
        var groups = wholeGroups + (fraction.Length + 3) / 4;
        Span<short> values = groups <= 256 ? stackalloc short[groups] : new short[groups];
        for (var g = 0; g < wholeGroups; g++)
        {
            var end = whole.Length - 4 * (wholeGroups - 1 - g);
            var start = Math.Max(0, end - 4);
            values[g] = (short)Decimal(whole[start..end]);
        }
        for (var g = 0; g < groups - wholeGroups; g++)
        {
            var part = fraction[(4 * g)..Math.Min(fraction.Length, 4 * g + 4)];
            var value = Decimal(part);
            for (var pad = part.Length; pad < 4; pad++)
            {
                value *= 10;
            }
            values[wholeGroups + g] = (short)value;
        }
        var first = 0;
        while (first < groups && values[first] == 0)
        {
            first++;
        }
        var last = groups;
        while (last > first && values[last - 1] == 0)
        {
            last--;
        }
        var weight = first == last ? 0 : wholeGroups - 1 - first;
        if (first == last)
        {
            sign = 0;
        }
        output.Int32(8 + 2 * (last - first));
        output.Int16((short)(last - first));
        output.Int16((short)weight);
        output.Int16((short)sign);
        output.Int16((short)fraction.Length);
        for (var g = first; g < last; g++)
        {
            output.Int16(values[g]);
        }
    }

    private static int Decimal(ReadOnlySpan<byte> digits)
    {
        var value = 0;
        foreach (var d in digits)
        {
            value = value * 10 + (d - '0');
        }
        return value;
    }

    /// <summary>Days from 2000-01-01, PostgreSQL's epoch; infinities as date_recv takes them.</summary>
    private static int ParseDate(ReadOnlySpan<byte> text, int column)
    {
        switch (InfinitySign(text))
        {
            case > 0: return int.MaxValue;
            case < 0: return int.MinValue;
        }
        var rest = text;
        var bc = TrimBc(ref rest);
        if (!TryParseDay(ref rest, bc, out var days) || !rest.IsEmpty)
        {
            throw Malformed(column, text, "is not a date");
        }
        return days;
    }

    /// <summary>Microseconds from 2000-01-01 00:00 (UTC for a timestamptz); infinities as timestamp_recv takes them.</summary>
    private static long ParseTimestamp(ReadOnlySpan<byte> text, bool zoned, int column)
    {
        switch (InfinitySign(text))
        {
            case > 0: return long.MaxValue;
            case < 0: return long.MinValue;
        }
        var rest = text;
        var bc = TrimBc(ref rest);
        if (!TryParseDay(ref rest, bc, out var days) || rest.Length < 9 || rest[0] != ' ' || rest[3] != ':' || rest[6] != ':')
        {
            throw Malformed(column, text, zoned ? "is not a timestamp with time zone" : "is not a timestamp");
        }
        var seconds = (long)Digits(rest[1..3], column, text) * 3600 + Digits(rest[4..6], column, text) * 60 + Digits(rest[7..9], column, text);
        rest = rest[9..];
        long micros = 0;
        if (!rest.IsEmpty && rest[0] == '.')
        {
            var end = 1;
            while (end < rest.Length && rest[end] is >= (byte)'0' and <= (byte)'9')
            {
                end++;
            }
            if (end is 1 or > 7)
            {
                throw Malformed(column, text, "has a fraction of a second that is not microseconds");
            }
            micros = Digits(rest[1..end], column, text);
            for (var pad = end - 1; pad < 6; pad++)
            {
                micros *= 10;
            }
            rest = rest[end..];
        }
        if (zoned)
        {
            // The offset from UTC: +HH, +HH:MM or +HH:MM:SS (always +00 in the UTC session that printed it).
            if (rest.Length < 3 || rest[0] is not ((byte)'+' or (byte)'-'))
            {
                throw Malformed(column, text, "has no offset from UTC");
            }
            var east = rest[0] == '+';
            var offset = (long)Digits(rest[1..3], column, text) * 3600;
            rest = rest[3..];
            for (var unit = 60; unit >= 1 && !rest.IsEmpty; unit /= 60)
            {
                if (rest.Length < 3 || rest[0] != ':')
                {
                    throw Malformed(column, text, "has an offset from UTC that is not HH:MM:SS");
                }
                offset += Digits(rest[1..3], column, text) * unit;
                rest = rest[3..];
            }
            seconds -= east ? offset : -offset;
        }
        if (!rest.IsEmpty)
        {
            throw Malformed(column, text, zoned ? "is not a timestamp with time zone" : "is not a timestamp");
        }
        return (days * 86_400L + seconds) * 1_000_000 + micros;
    }

    /// <summary>1 for a date or timestamp printed as <c>infinity</c>, -1 for <c>-infinity</c>, else 0.</summary>
    private static int InfinitySign(ReadOnlySpan<byte> text) =>
        text.SequenceEqual("infinity"u8) ? 1 : text.SequenceEqual("-infinity"u8) ? -1 : 0;

    private static bool TrimBc(ref ReadOnlySpan<byte> text)
    {
        if (!text.EndsWith(" BC"u8))
        {
            return false;
        }
        text = text[..^3];
        return true;
    }

    /// <summary>Reads <c>YYYY-MM-DD</c> (four digits or more of year) off the front of <paramref name="text"/>: days from 2000-01-01.</summary>
    private static bool TryParseDay(ref ReadOnlySpan<byte> text, bool bc, out int days)
    {
        days = 0;
        var dash = text.IndexOf((byte)'-');
        if (dash < 4 || text.Length < dash + 6 || text[dash + 3] != '-' || text[..dash].ContainsAnyExceptInRange((byte)'0', (byte)'9')
            || text.Slice(dash + 1, 2).ContainsAnyExceptInRange((byte)'0', (byte)'9') || text.Slice(dash + 4, 2).ContainsAnyExceptInRange((byte)'0', (byte)'9'))
        {
            return false;
        }
        var year = Decimal(text[..dash]);
        var month = Decimal(text.Slice(dash + 1, 2));
        var day = Decimal(text.Slice(dash + 4, 2));
        // 1 BC is year 0 of the proleptic Gregorian calendar PostgreSQL counts in.
        days = JulianDay(bc ? 1 - year : year, month, day) - JulianDay(2000, 1, 1);
        text = text[(dash + 6)..];
        return true;
    }

    /// <summary>The Julian day number of a proleptic Gregorian date, as PostgreSQL's date2j computes it.</summary>
    private static int JulianDay(int year, int month, int day)
    {
        if (month > 2)
        {
            month += 1;
            year += 4800;
        }
        else
        {
            month += 13;
            year += 4799;
        }
        var century = year / 100;
        var julian = year * 365 - 32167;
        julian += year / 4 - century + century / 4;
        julian += 7834 * month / 256 + day;
        return julian;
    }

    private static int Digits(ReadOnlySpan<byte> digits, int column, ReadOnlySpan<byte> text) =>
        digits.ContainsAnyExceptInRange((byte)'0', (byte)'9') ? throw Malformed(column, text, "has a field that is not digits") : Decimal(digits);

    /// <summary>
    /// An array as array_out prints it (<c>{a,"b c",NULL}</c>, nested braces for more dimensions, and a
    /// <c>[lower:upper]...=</c> prefix when a lower bound is not 1) in array_recv's binary form: dimensions, a flag for
    /// nulls, the element type's oid, each dimension's length and lower bound, then the elements.
    /// </summary>
    private void WriteArray(Column column, ReadOnlySpan<byte> text, Output output, int index)
    {
        _elements.Clear();
        _dims.Clear();
        _lowerBounds.Clear();
        var rest = text;
        // [lower:upper] for each dimension, then '='.
        while (!rest.IsEmpty && rest[0] == '[')
        {
            var close = rest.IndexOf((byte)']');
            var colon = close < 0 ? -1 : rest[..close].IndexOf((byte)':');
            if (colon < 0 || !int.TryParse(rest[1..colon], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var lower))
            {
                throw Malformed(index, text, "is not an array");
            }
            _lowerBounds.Add(lower);
            rest = rest[(close + 1)..];
            if (!rest.IsEmpty && rest[0] == '=')
            {
                rest = rest[1..];
                break;
            }
        }
        var hasNull = false;
        var position = 0;
        if (rest.SequenceEqual("{}"u8))
        {
            position = 2;
        }
        else
        {
            ReadLevel(rest, ref position, 0, column.Kind, ref hasNull, index, text);
        }
        if (position != rest.Length || (_lowerBounds.Count > 0 && _lowerBounds.Count != _dims.Count))
        {
            throw Malformed(index, text, "is not an array");
        }
        var header = 12 + 8 * _dims.Count;
        output.Int32(header + _elements.Length);
        output.Int32(_dims.Count);
        output.Int32(hasNull ? 1 : 0);
        output.Int32(column.ElementOid);
        for (var d = 0; d < _dims.Count; d++)
        {
            output.Int32(_dims[d]);
            output.Int32(_lowerBounds.Count > 0 ? _lowerBounds[d] : 1);
        }
        output.Bytes(_elements.Written.Span);
    }

    /// <summary>Reads one brace level at <paramref name="position"/>: its sub-arrays, or its elements, into <see cref="_elements"/>.</summary>
    private void ReadLevel(ReadOnlySpan<byte> text, ref int position, int depth, Kind kind, ref bool hasNull, int index,
        ReadOnlySpan<byte> field)
    {
        if (position >= text.Length || text[position] != '{')
        {
            throw Malformed(index, field, "is not an array");
        }
        position++;
        while (_dims.Count <= depth)
        {
            _dims.Add(0);
        }
        var count = 0;
        while (true)
        {
            if (position >= text.Length)
            {
                throw Malformed(index, field, "is not an array");
            }
            if (text[position] == '{')
            {
                ReadLevel(text, ref position, depth + 1, kind, ref hasNull, index, field);
            }
            else
            {
                ReadElement(text, ref position, kind, ref hasNull, index, field);
            }
            count++;
            if (position >= text.Length)
            {
                throw Malformed(index, field, "is not an array");
            }
            if (text[position++] == '}')
            {
                break;
            }
            if (text[position - 1] != ',')
            {
                throw Malformed(index, field, "is not an array");
            }
        }
        if (_dims[depth] != 0 && _dims[depth] != count)
        {
            throw Malformed(index, field, "is an array whose sub-arrays differ in length");
        }
        _dims[depth] = count;
    }

    private void ReadElement(ReadOnlySpan<byte> text, ref int position, Kind kind, ref bool hasNull, int index, ReadOnlySpan<byte> field)
    {
        if (text[position] == '"')
        {
            // Quoted: a backslash stands for the byte after it.
            // The element's bytes go to a buffer of their own: the field being read may lie in _scratch.
            if (_quoted.Length < text.Length)
            {
                _quoted = new byte[Math.Max(text.Length, _quoted.Length * 2)];
            }
            var length = 0;
            position++;
            while (position < text.Length && text[position] != '"')
            {
                if (text[position] == '\\' && position + 1 < text.Length)
                {
                    position++;
                }
                _quoted[length++] = text[position++];
            }
            if (position >= text.Length)
            {
                throw Malformed(index, field, "is not an array");
            }
            position++;
            WriteValue(kind, _quoted.AsSpan(0, length), _elements, index);
            return;
        }
        var end = position;
        while (end < text.Length && text[end] is not ((byte)',' or (byte)'}'))
        {
            end++;
        }
        var bare = text[position..end];
        position = end;
        if (bare.Length == 4 && System.Text.Ascii.EqualsIgnoreCase(bare, "NULL"u8))
        {
            hasNull = true;
            _elements.Int32(-1);
            return;
        }
        WriteValue(kind, bare, _elements, index);
    }

    /// <summary>Text that is not what the snapshot's session prints: a snapshot's rows never hold it, unless they were damaged after their checksum.</summary>
    private static InvalidDataException Malformed(int column, ReadOnlySpan<byte> text, string what) =>
        new($"The value of column {column + 1} ('{System.Text.Encoding.UTF8.GetString(text[..Math.Min(text.Length, 60)])}') {what}.");

    /// <summary>A growing buffer of big-endian binary COPY data.</summary>
    internal sealed class Output
    {
        private byte[] _buffer = new byte[1 << 16];

        public int Length { get; private set; }

        public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, Length);

        public void Clear() => Length = 0;

        public Span<byte> Reserve(int count)
        {
            if (_buffer.Length - Length < count)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count));
            }
            var span = _buffer.AsSpan(Length, count);
            Length += count;
            return span;
        }

        public void Byte(byte value) => Reserve(1)[0] = value;

        public void Int16(short value) => BinaryPrimitives.WriteInt16BigEndian(Reserve(2), value);

        public void Int32(int value) => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);

        public void Int64(long value) => BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);

        public void Bytes(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));
    }
}
