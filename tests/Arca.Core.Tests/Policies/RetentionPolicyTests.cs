using System.Globalization;
using Arca.Policies;

namespace Arca.Core.Tests.Policies;

/// <summary>Hand-worked cases: each lists snapshots (id and time) and the ids a policy must keep, with why.</summary>
public sealed class RetentionPolicyTests
{
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;
    private static readonly TimeZoneInfo PlusTwo = TimeZoneInfo.CreateCustomTimeZone("test+2", TimeSpan.FromHours(2), "test+2", "test+2");
    private static readonly TimeZoneInfo MinusFive = TimeZoneInfo.CreateCustomTimeZone("test-5", TimeSpan.FromHours(-5), "test-5", "test-5");

    private sealed record Snap(string Id, DateTimeOffset Time, string[] Tags);

    private static Snap S(string id, string time, params string[] tags) =>
        new(id, DateTimeOffset.Parse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal), tags);

    private static IReadOnlyList<RetentionDecision<Snap>> Apply(RetentionPolicy policy, params Snap[] snapshots) =>
        policy.Apply(snapshots, s => s.Time, s => s.Id, s => s.Tags);

    private static string[] Kept(RetentionPolicy policy, params Snap[] snapshots) =>
        [.. Apply(policy, snapshots).Where(d => d.Keep).Select(d => d.Snapshot.Id)];

    [Fact]
    public void Keep_last_keeps_the_newest_whatever_their_order_in_the_input()
    {
        Kept(new RetentionPolicy { Last = 3, TimeZone = Utc },
            S("a", "2026-01-01T00:00:00Z"), S("e", "2026-01-05T00:00:00Z"), S("c", "2026-01-03T00:00:00Z"),
            S("b", "2026-01-02T00:00:00Z"), S("d", "2026-01-04T00:00:00Z"))
            .ShouldBe(["e", "d", "c"]);
    }

    [Fact]
    public void Keep_daily_keeps_the_newest_of_each_of_the_newest_days_that_have_one()
    {
        Kept(new RetentionPolicy { Daily = 2, TimeZone = Utc },
            S("d1-morning", "2026-01-01T10:00:00Z"), S("d1-night", "2026-01-01T22:00:00Z"),
            S("d2", "2026-01-02T08:00:00Z"),
            // 3 January has no snapshot: the two newest days that have one are the 4th and the 2nd.
            S("d4-early", "2026-01-04T00:00:00Z"), S("d4-last", "2026-01-04T23:59:59Z"))
            .ShouldBe(["d4-last", "d2"]);
    }

    [Fact]
    public void Days_are_the_days_of_the_policy_time_zone()
    {
        // 21:00Z and 22:30Z on 1 March are the same day in UTC, but 23:00 on the 1st and 00:30 on the 2nd at UTC+2.
        var snapshots = new[] { S("late", "2026-03-01T22:30:00Z"), S("evening", "2026-03-01T21:00:00Z"), S("before", "2026-02-28T12:00:00Z") };

        Kept(new RetentionPolicy { Daily = 2, TimeZone = Utc }, snapshots).ShouldBe(["late", "before"]);
        Kept(new RetentionPolicy { Daily = 2, TimeZone = PlusTwo }, snapshots).ShouldBe(["late", "evening"]);
    }

    [Fact]
    public void Hours_are_buckets_too()
    {
        Kept(new RetentionPolicy { Hourly = 3, TimeZone = Utc },
            S("h10a", "2026-05-05T10:05:00Z"), S("h10b", "2026-05-05T10:55:00Z"),
            S("h11", "2026-05-05T11:00:00Z"), S("h13", "2026-05-05T13:59:59Z"), S("h09", "2026-05-05T09:30:00Z"))
            .ShouldBe(["h13", "h11", "h10b"]);
    }

    [Fact]
    public void Weeks_are_ISO_weeks_which_cross_the_new_year()
    {
        // Monday 29 December 2025 and Sunday 4 January 2026 are both in ISO week 2026-W01; Monday 5 January starts W02.
        Kept(new RetentionPolicy { Weekly = 2, TimeZone = Utc },
            S("mon-w01", "2025-12-29T12:00:00Z"), S("sun-w01", "2026-01-04T12:00:00Z"), S("mon-w02", "2026-01-05T12:00:00Z"),
            S("w52", "2025-12-28T12:00:00Z"))
            .ShouldBe(["mon-w02", "sun-w01"]);
    }

    [Fact]
    public void Months_keep_their_newest_snapshot()
    {
        Kept(new RetentionPolicy { Monthly = 2, TimeZone = Utc },
            S("jan31", "2026-01-31T23:00:00Z"), S("feb1", "2026-02-01T00:00:00Z"), S("feb28", "2026-02-28T10:00:00Z"),
            S("dec", "2025-12-15T00:00:00Z"))
            .ShouldBe(["feb28", "jan31"]);
    }

    [Fact]
    public void Years_follow_the_time_zone_at_the_turn_of_the_year()
    {
        // 23:00Z on 31 December 2024 is already 2025 at UTC+2, and 03:00Z on 1 January 2025 is still 2024 at UTC-5.
        var snapshots = new[] { S("a", "2025-01-01T03:00:00Z"), S("b", "2024-12-31T23:00:00Z"), S("c", "2024-06-01T00:00:00Z") };

        Kept(new RetentionPolicy { Yearly = 5, TimeZone = Utc }, snapshots).ShouldBe(["a", "b"]);
        Kept(new RetentionPolicy { Yearly = 5, TimeZone = PlusTwo }, snapshots).ShouldBe(["a", "c"]);
        Kept(new RetentionPolicy { Yearly = 5, TimeZone = MinusFive }, snapshots).ShouldBe(["a"]);
    }

    [Fact]
    public void Snapshots_taken_at_the_same_moment_are_ordered_by_id()
    {
        Kept(new RetentionPolicy { Last = 1, TimeZone = Utc }, S("aaa", "2026-01-01T00:00:00Z"), S("bbb", "2026-01-01T00:00:00Z"))
            .ShouldBe(["bbb"]);
        Kept(new RetentionPolicy { Daily = 1, TimeZone = Utc }, S("bbb", "2026-01-01T00:00:00Z"), S("aaa", "2026-01-01T00:00:00Z"))
            .ShouldBe(["bbb"]);
    }

    [Fact]
    public void Keep_within_counts_calendar_months_back_from_the_newest_snapshot()
    {
        // One month before 31 March 12:00 is 28 February 12:00 (2026 is not a leap year); the bound itself is kept.
        Kept(new RetentionPolicy { Within = new CalendarDuration(0, 1, 0, 0), TimeZone = Utc },
            S("newest", "2026-03-31T12:00:00Z"), S("bound", "2026-02-28T12:00:00Z"), S("out", "2026-02-28T11:59:59Z"))
            .ShouldBe(["newest", "bound"]);
    }

    [Fact]
    public void Keep_within_is_relative_to_the_newest_snapshot_not_to_now()
    {
        Kept(new RetentionPolicy { Within = new CalendarDuration(0, 0, 2, 0), TimeZone = Utc },
            S("old-newest", "2020-06-10T00:00:00Z"), S("old-2d", "2020-06-08T00:00:00Z"), S("old-3d", "2020-06-07T00:00:00Z"))
            .ShouldBe(["old-newest", "old-2d"]);
    }

    [Fact]
    public void A_kept_tag_keeps_every_snapshot_that_has_it()
    {
        Kept(new RetentionPolicy { Last = 1, Tags = ["release"], TimeZone = Utc },
            S("new", "2026-01-03T00:00:00Z"), S("rel", "2026-01-02T00:00:00Z", "release", "x"), S("plain", "2026-01-01T00:00:00Z"),
            S("rel-old", "2020-01-01T00:00:00Z", "release"))
            .ShouldBe(["new", "rel", "rel-old"]);
    }

    [Fact]
    public void Every_rule_that_keeps_a_snapshot_is_given_as_a_reason()
    {
        var decisions = Apply(new RetentionPolicy { Last = 1, Daily = 1, Monthly = 2, TimeZone = Utc },
            S("b", "2026-02-10T00:00:00Z"), S("a", "2026-01-10T00:00:00Z"), S("a0", "2026-01-09T00:00:00Z"));

        decisions.Select(d => (d.Snapshot.Id, string.Join(", ", d.Reasons))).ShouldBe([
            ("b", "last, daily 2026-02-10, monthly 2026-02"),
            ("a", "monthly 2026-01"),
            ("a0", ""),
        ]);
    }

    [Fact]
    public void More_buckets_asked_than_there_are_keeps_the_newest_of_each()
    {
        Kept(new RetentionPolicy { Daily = 30, TimeZone = Utc },
            S("x", "2026-01-01T01:00:00Z"), S("y", "2026-01-01T02:00:00Z"), S("z", "2026-01-02T00:00:00Z"))
            .ShouldBe(["z", "y"]);
    }

    [Fact]
    public void No_snapshots_give_no_decisions()
    {
        Apply(new RetentionPolicy { Last = 3 }).ShouldBeEmpty();
    }

    [Fact]
    public void Bad_settings_are_refused_by_name()
    {
        Should.Throw<ArgumentException>(() => new RetentionPolicy { Weekly = -1 }.Validate()).Message.ShouldContain("--keep-weekly");
        new RetentionPolicy().IsEmpty.ShouldBeTrue();
        new RetentionPolicy { Tags = ["t"] }.IsEmpty.ShouldBeFalse();
    }

    [Theory]
    [InlineData("7d", 0, 0, 7, 0)]
    [InlineData("1y6m", 1, 6, 0, 0)]
    [InlineData("2w", 0, 0, 14, 0)]
    [InlineData("36h", 0, 0, 0, 36)]
    [InlineData("1y2m3d4h", 1, 2, 3, 4)]
    public void Durations_parse_as_people_write_them(string text, int years, int months, int days, int hours)
    {
        CalendarDuration.TryParse(text, out var duration).ShouldBeTrue();
        duration.ShouldBe(new CalendarDuration(years, months, days, hours));
    }

    [Theory]
    [InlineData("")]
    [InlineData("7")]
    [InlineData("d")]
    [InlineData("7x")]
    [InlineData("-1d")]
    [InlineData("0d")]
    [InlineData("1d 2h")]
    public void Bad_durations_do_not_parse(string text)
    {
        CalendarDuration.TryParse(text, out _).ShouldBeFalse();
    }
}
