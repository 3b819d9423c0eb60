using Arca.Policies;
using Arca.Repo;
using Arca.Trees;

namespace Arca.Operations;

/// <summary>What snapshots are grouped by before a retention policy applies to each group (restic's --group-by).</summary>
[Flags]
public enum SnapshotGrouping
{
    None = 0,
    Host = 1,
    Paths = 2,
    Tags = 4,
}

/// <summary>One group of snapshots (same host, paths and tags, as far as the grouping asks) and what the policy decided.</summary>
public sealed record ForgetGroup(string? Host, IReadOnlyList<string>? Paths, IReadOnlyList<string>? Tags,
    IReadOnlyList<RetentionDecision<(SnapshotId Id, Snapshot Snapshot)>> Decisions);

public sealed record ForgetResult(IReadOnlyList<ForgetGroup> Groups, bool DryRun)
{
    public int Kept => Groups.Sum(g => g.Decisions.Count(d => d.Keep));
    public int Removed => Groups.Sum(g => g.Decisions.Count(d => !d.Keep));
}

/// <summary>
/// Applies a retention policy to each group of snapshots and removes the snapshots it does not keep (or, in a
/// dry run, only says which). Only snapshot files go; the data they alone used stays until prune.
/// </summary>
public sealed class ForgetOperation
{
    public async Task<ForgetResult> RunAsync(RepositorySession session, RetentionPolicy policy, SnapshotGrouping grouping,
        string? host, IReadOnlyList<string> tags, bool dryRun, CancellationToken cancellationToken)
    {
        if (policy.IsEmpty)
        {
            throw new ArcaException(ErrorCode.Usage, "No retention policy given, so no snapshot would be kept; nothing was removed.",
                "Say what to keep with --keep-last, --keep-daily, --keep-within, --keep-tag and the like.");
        }
        try
        {
            policy.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArcaException(ErrorCode.Usage, ex.Message, "See 'arca forget --help'.");
        }
        if (!dryRun)
        {
            // Before reading the snapshots, so no other forget or prune decides from the same list meanwhile.
            await session.LockAsync(LockKind.Exclusive, "forget", cancellationToken);
        }
        var repository = session.Repository;
        var snapshots = (await repository.LoadAllSnapshotsAsync(cancellationToken))
            .Where(s => (host is null || s.Snapshot.Hostname == host) && (tags.Count == 0 || s.Snapshot.Tags.Any(tags.Contains)))
            .ToList();
        var groups = new List<ForgetGroup>();
        foreach (var group in snapshots.GroupBy(s => GroupKey(s.Snapshot, grouping), StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var first = group.First().Snapshot;
            var decisions = policy.Apply(group, s => s.Snapshot.Time, s => s.Id.ToString(), s => s.Snapshot.Tags);
            groups.Add(new ForgetGroup(
                grouping.HasFlag(SnapshotGrouping.Host) ? first.Hostname : null,
                grouping.HasFlag(SnapshotGrouping.Paths) ? [.. first.Paths.Order(StringComparer.Ordinal)] : null,
                grouping.HasFlag(SnapshotGrouping.Tags) ? [.. first.Tags.Order(StringComparer.Ordinal)] : null,
                decisions));
        }
        if (!dryRun)
        {
            foreach (var decision in groups.SelectMany(g => g.Decisions).Where(d => !d.Keep))
            {
                await repository.ForgetSnapshotAsync(decision.Snapshot.Id, cancellationToken);
            }
        }
        return new ForgetResult(groups, dryRun);
    }

    /// <summary>Parses a --group-by value: a comma-separated list of host, paths and tags, or empty for one group.</summary>
    public static SnapshotGrouping ParseGrouping(string text)
    {
        var grouping = SnapshotGrouping.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            grouping |= part switch
            {
                "host" => SnapshotGrouping.Host,
                "paths" => SnapshotGrouping.Paths,
                "tags" => SnapshotGrouping.Tags,
                _ => throw new ArcaException(ErrorCode.Usage, $"'{part}' is not something snapshots can be grouped by.",
                    "Use --group-by with host, paths and tags, comma-separated (or '' for one group)."),
            };
        }
        return grouping;
    }

    private static string GroupKey(Snapshot snapshot, SnapshotGrouping grouping) => string.Join('\0',
        grouping.HasFlag(SnapshotGrouping.Host) ? snapshot.Hostname : "",
        grouping.HasFlag(SnapshotGrouping.Paths) ? string.Join('\u0001', snapshot.Paths.Order(StringComparer.Ordinal)) : "",
        grouping.HasFlag(SnapshotGrouping.Tags) ? string.Join('\u0001', snapshot.Tags.Order(StringComparer.Ordinal)) : "");
}
