using Arca.Repo;
using Arca.Trees;

namespace Arca.Operations;

/// <summary>
/// Finds the snapshot a user means: a full id, a unique prefix of one, <c>latest</c>, or (with
/// <see cref="AsOf"/>) the newest snapshot at or before a time; optionally only those of one host.
/// </summary>
public sealed record SnapshotSelector(string Reference, DateTimeOffset? AsOf = null, string? Host = null)
{
    public async Task<(SnapshotId Id, Snapshot Snapshot)> ResolveAsync(Repository repository, CancellationToken cancellationToken)
    {
        var reference = Reference.Trim();
        if (reference.Length == 0)
        {
            throw new ArcaException(ErrorCode.Usage, "No snapshot given.", "Name one by id, id prefix, or 'latest'.");
        }
        if (reference == "latest")
        {
            var all = await repository.LoadAllSnapshotsAsync(cancellationToken);
            var candidates = all.Where(s => (Host is null || s.Snapshot.Hostname == Host) && (AsOf is null || s.Snapshot.Time <= AsOf)).ToList();
            if (candidates.Count == 0)
            {
                throw new ArcaException(ErrorCode.SnapshotNotFound,
                    AsOf is null ? "The repository holds no snapshot yet." : $"No snapshot was taken at or before {AsOf:u}.",
                    "List them with 'arca snapshots'.");
            }
            return candidates[^1];
        }
        if (AsOf is not null)
        {
            throw new ArcaException(ErrorCode.Usage, "--as-of picks a snapshot by time; it cannot be combined with a snapshot id.",
                "Use 'latest --as-of TIME', or the id alone.");
        }
        if (!reference.All(Uri.IsHexDigit) || reference.Length > 64)
        {
            throw new ArcaException(ErrorCode.SnapshotNotFound, $"'{reference}' is not a snapshot id.",
                "Use an id or a prefix of one as 'arca snapshots' shows them, or 'latest'.");
        }
        reference = reference.ToLowerInvariant();
        var matches = new List<SnapshotId>();
        await foreach (var id in repository.ListSnapshotIdsAsync(cancellationToken))
        {
            if (id.ToString().StartsWith(reference, StringComparison.Ordinal))
            {
                matches.Add(id);
            }
        }
        return matches.Count switch
        {
            0 => throw new ArcaException(ErrorCode.SnapshotNotFound, $"There is no snapshot with id '{reference}'.",
                "List them with 'arca snapshots'."),
            1 => (matches[0], await repository.LoadSnapshotAsync(matches[0], cancellationToken)),
            _ => throw new ArcaException(ErrorCode.AmbiguousSnapshot,
                $"The id prefix '{reference}' matches {matches.Count} snapshots ({string.Join(", ", matches.Take(3).Select(m => m.Short))}{(matches.Count > 3 ? ", ..." : "")}).",
                "Give more characters of the id."),
        };
    }
}
