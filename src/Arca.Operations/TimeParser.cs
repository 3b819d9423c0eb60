using System.Globalization;

namespace Arca.Operations;

/// <summary>Parses --as-of values: ISO 8601 dates and times, local unless they carry an offset.</summary>
public static class TimeParser
{
    private static readonly string[] Formats =
    [
        "yyyy-MM-dd", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss",
        "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK", "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-ddTHH:mmK",
    ];

    public static DateTimeOffset Parse(string value, TimeZoneInfo zone)
    {
        if (DateTimeOffset.TryParseExact(value.Trim(), Formats, CultureInfo.InvariantCulture,
                DateTimeStyles.AllowWhiteSpaces | DateTimeStyles.AssumeLocal, out var parsed))
        {
            if (!HasOffset(value))
            {
                var local = parsed.DateTime;
                parsed = new DateTimeOffset(local, zone.GetUtcOffset(local));
            }
            // A bare date means the end of that day: "as of 2026-11-20" includes that day's snapshots.
            if (value.Trim().Length == 10)
            {
                parsed = parsed.AddDays(1).AddTicks(-1);
            }
            return parsed;
        }
        throw new ArcaException(ErrorCode.Usage, $"'{value}' is not a time arca understands.",
            "Write it as 2026-11-20, 2026-11-20 14:30, or 2026-11-20T14:30:00Z.");
    }

    /// <summary>Whether the time part (after the date's 10 characters) carries Z or a numeric offset.</summary>
    private static bool HasOffset(string value)
    {
        var time = value.Trim();
        time = time.Length > 10 ? time[10..] : "";
        return time.EndsWith('Z') || time.Contains('+') || time.Contains('-');
    }
}
