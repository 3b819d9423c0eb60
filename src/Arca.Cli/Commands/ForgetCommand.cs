using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;
using Arca.Policies;
using Arca.Repo;

namespace Arca.Cli.Commands;

public static class ForgetCommand
{
    public static Command Create(CliApp app)
    {
        Option<int> Count(string name, string what) => new(name) { Description = $"Keep the newest snapshot of each of the last N {what}." };
        var last = new Option<int>("--keep-last") { Description = "Keep the newest N snapshots." };
        var hourly = Count("--keep-hourly", "hours");
        var daily = Count("--keep-daily", "days");
        var weekly = Count("--keep-weekly", "ISO weeks");
        var monthly = Count("--keep-monthly", "months");
        var yearly = Count("--keep-yearly", "years");
        var within = new Option<string?>("--keep-within") { Description = "Keep every snapshot within this long of the group's newest (e.g. 7d, 36h, 1y6m)." };
        var keepTag = new Option<string[]>("--keep-tag") { Description = "Keep every snapshot with this tag (repeatable)." };
        var groupBy = new Option<string>("--group-by")
        {
            Description = "Apply the policy per group of snapshots with the same host, paths and/or tags.",
            DefaultValueFactory = _ => "host,paths",
        };
        var timeZone = new Option<string?>("--time-zone") { Description = "Time zone whose hours, days, weeks, months and years count (default: this machine's)." };
        var host = new Option<string?>("--host") { Description = "Only consider snapshots of this host." };
        var tag = new Option<string[]>("--tag") { Description = "Only consider snapshots with this tag (repeatable: any of them)." };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Only say which snapshots would go, and why each kept one stays." };
        var prune = new Option<bool>("--prune") { Description = "Prune afterwards, freeing the space of what went." };
        var maxUnused = PruneCommand.MaxUnusedOption();
        var command = new Command("forget",
            "Remove the snapshots a retention policy does not keep (their data goes at the next prune).\n" +
            "Exit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            last, hourly, daily, weekly, monthly, yearly, within, keepTag, groupBy, timeZone, host, tag, dryRun, prune, maxUnused,
        };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            CalendarDuration? keepWithin = null;
            if (context.Get(within) is { } text)
            {
                if (!CalendarDuration.TryParse(text, out var parsed))
                {
                    throw new ArcaException(ErrorCode.Usage, $"'{text}' is not a duration.",
                        "Write it as a number and a unit: y (years), m (months), w (weeks), d (days), h (hours), e.g. 7d or 1y6m.");
                }
                keepWithin = parsed;
            }
            var policy = new RetentionPolicy
            {
                Last = context.Get(last), Hourly = context.Get(hourly), Daily = context.Get(daily), Weekly = context.Get(weekly),
                Monthly = context.Get(monthly), Yearly = context.Get(yearly), Within = keepWithin, Tags = context.Get(keepTag) ?? [],
                TimeZone = ResolveTimeZone(context.Get(timeZone)),
            };
            var grouping = ForgetOperation.ParseGrouping(context.Get(groupBy) ?? "");
            var pruneOptions = new PruneOptions(PruneOperation.ParseMaxUnused(context.Get(maxUnused)), context.Get(dryRun));
            await using var session = await context.OpenAsync(LockKind.None, "forget", loadIndex: false, ct);
            var result = await new ForgetOperation().RunAsync(session, policy, grouping, context.Get(host), context.Get(tag) ?? [],
                context.Get(dryRun), ct);
            Report(context, result);
            if (context.Get(prune) && !result.DryRun)
            {
                await PruneCommand.RunAsync(context, session, pruneOptions, ct);
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static TimeZoneInfo ResolveTimeZone(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return TimeZoneInfo.Local;
        }
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ArcaException(ErrorCode.Usage, $"'{id}' is not a time zone this machine knows.",
                "Use an IANA name such as Europe/Berlin or UTC.");
        }
    }

    private static void Report(CommandContext context, ForgetResult result)
    {
        if (context.Json)
        {
            JsonOut.Write(context.Console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("dry_run", result.DryRun);
                w.WriteStartArray("groups");
                foreach (var group in result.Groups)
                {
                    w.WriteStartObject();
                    if (group.Host is not null) w.WriteString("host", group.Host);
                    if (group.Paths is not null) w.WriteStrings("paths", group.Paths);
                    if (group.Tags is not null) w.WriteStrings("tags", group.Tags);
                    foreach (var (name, keep) in new[] { ("keep", true), ("remove", false) })
                    {
                        w.WriteStartArray(name);
                        foreach (var d in group.Decisions.Where(d => d.Keep == keep))
                        {
                            w.WriteStartObject();
                            w.WriteString("id", d.Snapshot.Id.ToString());
                            w.WriteString("time", d.Snapshot.Snapshot.Time);
                            w.WriteStrings("reasons", d.Reasons);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("kept", result.Kept);
                w.WriteNumber("removed", result.Removed);
                w.WriteEndObject();
            });
            return;
        }
        foreach (var group in result.Groups)
        {
            var label = string.Join(", ", new[]
            {
                group.Host is null ? null : $"host {group.Host}",
                group.Paths is null ? null : $"paths {string.Join(' ', group.Paths)}",
                group.Tags is null ? null : $"tags {string.Join(',', group.Tags)}",
            }.Where(p => p is not null));
            context.Say(label.Length == 0 ? "all snapshots:" : $"{label}:");
            foreach (var d in group.Decisions)
            {
                var what = d.Keep ? $"keep    ({string.Join(", ", d.Reasons)})" : result.DryRun ? "would remove" : "removed";
                context.Say($"  {d.Snapshot.Id.Short}  {Format.LocalTime(d.Snapshot.Snapshot.Time)}  {what}");
            }
        }
        context.Say(result.DryRun
            ? $"would keep {result.Kept} and remove {result.Removed} snapshots (dry run: nothing was changed)"
            : $"kept {result.Kept}, removed {result.Removed} snapshots");
    }
}
