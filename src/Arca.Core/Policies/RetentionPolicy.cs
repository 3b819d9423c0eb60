using System.Globalization;

namespace Arca.Policies;

/// <summary>
/// Which snapshots to keep, restic's way: the newest N (<see cref="Last"/>); the newest snapshot of each of
/// the newest N hours, days, ISO weeks, months and years that have one; every snapshot within a duration of
/// the group's newest; every snapshot with one of some tags. A snapshot is kept if any rule keeps it; the
/// rules count independently, so one snapshot can be the daily, the weekly and the monthly at once. Calendar
/// buckets are taken in <see cref="TimeZone"/>, so "daily" means the days of the people who set the policy.
/// </summary>
public sealed record RetentionPolicy
{
    public int Last { get; init; }
    public int Hourly { get; init; }
    public int Daily { get; init; }
    public int Weekly { get; init; }
    public int Monthly { get; init; }
    public int Yearly { get; init; }
    public CalendarDuration? Within { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Local;

    public bool IsEmpty => Last == 0 && Hourly == 0 && Daily == 0 && Weekly == 0 && Monthly == 0 && Yearly == 0
                           && Within is null && Tags.Count == 0;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        foreach (var (name, value) in new[] { ("keep-last", Last), ("keep-hourly", Hourly), ("keep-daily", Daily),
                     ("keep-weekly", Weekly), ("keep-monthly", Monthly), ("keep-yearly", Yearly) })
        {
            if (value < 0)
            {
                throw new ArgumentException($"--{name} must be a positive count, not {value}.");
            }
        }
        if (Within is { IsPositive: false })
        {
            throw new ArgumentException("--keep-within must be a positive duration such as 7d, 36h or 1y6m.");
        }
    }

    /// <summary>
    /// Decides for one group of snapshots (same host and sources): every snapshot comes back once, newest first,
    /// with the reasons it is kept (none: it goes). Snapshots taken at the same moment are ordered by id.
    /// </summary>
    public IReadOnlyList<RetentionDecision<T>> Apply<T>(IEnumerable<T> snapshots, Func<T, DateTimeOffset> time,
        Func<T, string> id, Func<T, IReadOnlyList<string>> tags)
    {
        Validate();
        var ordered = snapshots.OrderByDescending(time).ThenByDescending(id, StringComparer.Ordinal).ToList();
        var reasons = ordered.Select(_ => new List<string>()).ToList();
        if (ordered.Count == 0)
        {
            return [];
        }

        for (var i = 0; i < Math.Min(Last, ordered.Count); i++)
        {
            reasons[i].Add("last");
        }
        Bucket(Hourly, "hourly", t => t.ToString("yyyy-MM-dd HH", CultureInfo.InvariantCulture));
        Bucket(Daily, "daily", t => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Bucket(Weekly, "weekly", t => $"{ISOWeek.GetYear(t.DateTime)}-W{ISOWeek.GetWeekOfYear(t.DateTime):00}");
        Bucket(Monthly, "monthly", t => t.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        Bucket(Yearly, "yearly", t => t.ToString("yyyy", CultureInfo.InvariantCulture));
        if (Within is { } within)
        {
            var since = within.Before(time(ordered[0]));
            for (var i = 0; i < ordered.Count; i++)
            {
                if (time(ordered[i]) >= since)
                {
                    reasons[i].Add($"within {within}");
                }
            }
        }
        foreach (var tag in Tags)
        {
            for (var i = 0; i < ordered.Count; i++)
            {
                if (tags(ordered[i]).Contains(tag, StringComparer.Ordinal))
                {
                    reasons[i].Add($"tag {tag}");
                }
            }
        }
        return [.. ordered.Select((s, i) => new RetentionDecision<T>(s, reasons[i]))];

        // The newest snapshot of each bucket, for the newest `count` buckets that hold one.
        void Bucket(int count, string reason, Func<DateTimeOffset, string> key)
        {
            string? previous = null;
            for (var i = 0; i < ordered.Count && count > 0; i++)
            {
                var bucket = key(TimeZoneInfo.ConvertTime(time(ordered[i]), TimeZone));
                if (bucket != previous)
                {
                    reasons[i].Add($"{reason} {bucket}");
                    previous = bucket;
                    count--;
                }
            }
        }
    }
}

/// <summary>What a policy decided for one snapshot: kept when there is a reason, with every reason.</summary>
public sealed record RetentionDecision<T>(T Snapshot, IReadOnlyList<string> Reasons)
{
    public bool Keep => Reasons.Count > 0;
}
