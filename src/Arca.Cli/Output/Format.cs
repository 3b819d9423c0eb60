namespace Arca.Cli.Output;

/// <summary>Human-readable sizes, durations and times.</summary>
public static class Format
{
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : $"{value:0.0} {units[unit]}";
    }

    public static string Duration(TimeSpan span) =>
        span.TotalSeconds < 60 ? $"{span.TotalSeconds:0.00}s" : $"{(int)span.TotalMinutes}m{span.Seconds:00}s";

    public static string LocalTime(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    public static string Mode(Trees.NodeType type, uint mode)
    {
        var chars = new char[10];
        chars[0] = type switch { Trees.NodeType.Dir => 'd', Trees.NodeType.Symlink => 'l', _ => '-' };
        const string rwx = "rwxrwxrwx";
        for (var i = 0; i < 9; i++)
        {
            chars[i + 1] = (mode & (1u << (8 - i))) != 0 ? rwx[i] : '-';
        }
        return new string(chars);
    }

    public static DateTimeOffset FromUnixNs(long ns) => DateTimeOffset.FromUnixTimeMilliseconds(ns / 1_000_000);
}
