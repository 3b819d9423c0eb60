using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Arca.Policies;

/// <summary>
/// A span of calendar time as people write it for retention: <c>1y6m</c>, <c>7d</c>, <c>36h</c>, <c>2w</c>.
/// Years and months are calendar ones (a month back from 31 March is 29 February or 28 February, whatever
/// the year says), as in restic's <c>--keep-within</c>; weeks are seven days.
/// </summary>
public readonly partial record struct CalendarDuration(int Years, int Months, int Days, int Hours)
{
    public bool IsPositive => Years > 0 || Months > 0 || Days > 0 || Hours > 0;

    /// <summary>The moment this long before <paramref name="time"/>.</summary>
    public DateTimeOffset Before(DateTimeOffset time) => time.AddYears(-Years).AddMonths(-Months).AddDays(-Days).AddHours(-Hours);

    public static bool TryParse(string? text, out CalendarDuration duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text) || !Shape().IsMatch(text.Trim()))
        {
            return false;
        }
        int years = 0, months = 0, days = 0, hours = 0;
        foreach (Match part in Part().Matches(text.Trim()))
        {
            if (!int.TryParse(part.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return false;
            }
            switch (part.Groups[2].Value)
            {
                case "y": years += n; break;
                case "m": months += n; break;
                case "w": days += 7 * n; break;
                case "d": days += n; break;
                case "h": hours += n; break;
            }
        }
        duration = new CalendarDuration(years, months, days, hours);
        return duration.IsPositive;
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        void Add(int n, char unit)
        {
            if (n > 0)
            {
                text.Append(n.ToString(CultureInfo.InvariantCulture)).Append(unit);
            }
        }
        Add(Years, 'y');
        Add(Months, 'm');
        Add(Days, 'd');
        Add(Hours, 'h');
        return text.ToString();
    }

    [GeneratedRegex("^([0-9]+[ymwdh])+$")]
    private static partial Regex Shape();

    [GeneratedRegex("([0-9]+)([ymwdh])")]
    private static partial Regex Part();
}
