using System.Text;

namespace Arca.Sources.Env;

/// <summary>
/// The <c>.env</c> syntax Arca writes: one <c>NAME="VALUE"</c> per variable, the value in POSIX shell double
/// quotes, where <c>\</c>, <c>"</c>, <c>$</c> and <c>`</c> are escaped with a backslash and every other character
/// (newlines included) stands for itself. That is the one dialect whose reading is standardized, so any value
/// comes back exactly from <c>set -a; . ./.env; set +a</c> in sh or bash; systemd's <c>EnvironmentFile=</c>
/// follows the same quoting rules. (dotenv libraries disagree with each other about <c>$</c> and backslashes;
/// none is a standard to follow.) Names are limited to what a shell accepts: letters, digits and <c>_</c>, not starting
/// with a digit.
/// </summary>
public static class EnvFile
{
    public static bool IsValidName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>One variable as a line of the file (without its final newline).</summary>
    public static string Line(string name, string value)
    {
        if (!IsValidName(name))
        {
            throw new ArgumentException($"'{name}' cannot be a variable of a .env file.", nameof(name));
        }
        var builder = new StringBuilder(name.Length + value.Length + 3);
        builder.Append(name).Append("=\"");
        foreach (var c in value)
        {
            if (c is '\\' or '"' or '$' or '`')
            {
                builder.Append('\\');
            }
            builder.Append(c);
        }
        return builder.Append('"').ToString();
    }

    /// <summary>The whole file: each variable on its line, in the order given, UTF-8 without a byte order mark.</summary>
    public static byte[] Write(IEnumerable<KeyValuePair<string, string>> variables)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in variables)
        {
            text.Append(Line(name, value)).Append('\n');
        }
        return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text.ToString());
    }

    /// <summary>
    /// Reads back what <see cref="Write"/> wrote (also blank lines and <c>#</c> comments, as a person may add):
    /// the variables in file order. Anything else is refused, as it would be read differently by different tools.
    /// </summary>
    public static List<KeyValuePair<string, string>> Parse(string text)
    {
        var result = new List<KeyValuePair<string, string>>();
        var i = 0;
        var line = 1;
        while (i < text.Length)
        {
            if (text[i] == '\n')
            {
                i++;
                line++;
                continue;
            }
            if (text[i] == '#')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
                continue;
            }
            var equals = text.IndexOf('=', i);
            var name = equals < 0 ? "" : text[i..equals];
            if (!IsValidName(name) || equals + 1 >= text.Length || text[equals + 1] != '"')
            {
                throw new FormatException($"Line {line} of the .env file is not NAME=\"VALUE\".");
            }
            i = equals + 2;
            var value = new StringBuilder();
            while (true)
            {
                if (i >= text.Length)
                {
                    throw new FormatException($"The value of {name} (line {line}) has no closing quote.");
                }
                var c = text[i++];
                if (c == '"')
                {
                    break;
                }
                if (c == '\\' && i < text.Length && text[i] is '\\' or '"' or '$' or '`')
                {
                    c = text[i++];
                }
                else if (c == '\n')
                {
                    line++;
                }
                value.Append(c);
            }
            if (i < text.Length && text[i] != '\n')
            {
                throw new FormatException($"The value of {name} (line {line}) is followed by more than a newline.");
            }
            result.Add(new KeyValuePair<string, string>(name, value.ToString()));
        }
        return result;
    }
}
