namespace Arca.Sources.Postgres;

/// <summary>
/// Reads PostgreSQL's COPY text format row by row: rows end with a newline, fields are separated by tabs,
/// <c>\N</c> is NULL, and backslash escapes (\b \f \n \r \t \v \\, octal \NNN, hex \xHH) stand for the
/// bytes they name. A raw newline never occurs inside a field, which is what makes the format streamable.
/// </summary>
public sealed class CopyTextReader(Stream source) : IDisposable
{
    private readonly LineReader _lines = new(source);

    /// <summary>The fields of the next row (null for SQL NULL), decoded to UTF-8 bytes; null at the end.</summary>
    public async ValueTask<List<byte[]?>?> ReadRowAsync(CancellationToken cancellationToken) =>
        await _lines.NextAsync(cancellationToken) is { } line ? ParseRow(line.Span) : null;

    public void Dispose() => _lines.Dispose();

    internal static List<byte[]?> ParseRow(ReadOnlySpan<byte> line)
    {
        var fields = new List<byte[]?>();
        while (true)
        {
            var tab = line.IndexOf((byte)'\t');
            var field = tab >= 0 ? line[..tab] : line;
            fields.Add(field.SequenceEqual("\\N"u8) ? null : Unescape(field));
            if (tab < 0)
            {
                return fields;
            }
            line = line[(tab + 1)..];
        }
    }

    private static byte[] Unescape(ReadOnlySpan<byte> field)
    {
        if (field.IndexOf((byte)'\\') < 0)
        {
            return field.ToArray();
        }
        var output = new byte[field.Length];
        return output.AsSpan(0, Unescape(field, output)).ToArray();
    }

    /// <summary>Writes the bytes a field's text stands for into <paramref name="output"/> (as long as the field); returns how many.</summary>
    internal static int Unescape(ReadOnlySpan<byte> field, Span<byte> output)
    {
        var length = 0;
        for (var i = 0; i < field.Length; i++)
        {
            // The bytes up to the next backslash go over in one copy (a bytea's hex digits follow its one escape).
            var run = field[i..].IndexOf((byte)'\\');
            if (run != 0)
            {
                run = run < 0 ? field.Length - i : run;
                field.Slice(i, run).CopyTo(output[length..]);
                length += run;
                i += run - 1;
                continue;
            }
            if (i + 1 == field.Length)
            {
                output[length++] = field[i];
                continue;
            }
            var c = field[++i];
            switch (c)
            {
                case (byte)'b': output[length++] = 8; break;
                case (byte)'f': output[length++] = 12; break;
                case (byte)'n': output[length++] = 10; break;
                case (byte)'r': output[length++] = 13; break;
                case (byte)'t': output[length++] = 9; break;
                case (byte)'v': output[length++] = 11; break;
                case >= (byte)'0' and <= (byte)'7':
                {
                    var value = c - '0';
                    for (var k = 0; k < 2 && i + 1 < field.Length && field[i + 1] is >= (byte)'0' and <= (byte)'7'; k++)
                    {
                        value = value * 8 + (field[++i] - '0');
                    }
                    output[length++] = (byte)value;
                    break;
                }
                case (byte)'x' when i + 1 < field.Length && IsHex(field[i + 1]):
                {
                    var value = Hex(field[++i]);
                    if (i + 1 < field.Length && IsHex(field[i + 1]))
                    {
                        value = value * 16 + Hex(field[++i]);
                    }
                    output[length++] = (byte)value;
                    break;
                }
                default: output[length++] = c; break;
            }
        }
        return length;
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private static int Hex(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
