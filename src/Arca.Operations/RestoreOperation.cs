using Arca.Repo;
using Arca.Restore;
using Arca.Sources.Files;

namespace Arca.Operations;

public sealed record RestoreRequest
{
    public required SnapshotSelector Snapshot { get; init; }
    public required string Target { get; init; }
    public IReadOnlyList<string> Includes { get; init; } = [];
    public IReadOnlyList<string> Excludes { get; init; } = [];
    public OverwriteMode Overwrite { get; init; } = OverwriteMode.Always;
    public bool DryRun { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Target))
        {
            throw new ArcaException(ErrorCode.Usage, "No target folder was given.", "Pass --target DIR.");
        }
        if (File.Exists(Target))
        {
            throw new ArcaException(ErrorCode.Usage, $"The target '{Target}' is a file, not a folder.", "Pass a folder to --target.");
        }
    }
}

public sealed record RestoreOutcome(SnapshotId Snapshot, RestorePlan Plan, RestoreResult? Result);

/// <summary>Plans a restore of a snapshot, and carries it out unless it is a dry run.</summary>
public sealed class RestoreOperation
{
    public async Task<RestoreOutcome> RunAsync(RepositorySession session, RestoreRequest request, IRestoreProgress progress,
        CancellationToken cancellationToken)
    {
        request.Validate();
        var repository = session.Repository;
        var (id, snapshot) = await request.Snapshot.ResolveAsync(repository, cancellationToken);
        var options = new RestoreOptions
        {
            Target = request.Target,
            Includes = request.Includes,
            Excludes = [.. request.Excludes.Select(e => new Glob(e))],
            Overwrite = request.Overwrite,
            // A remote store answers each read after a round trip: keep as many in flight as it takes
            // connections. A local folder is bound by the file system, where more writers only contend.
            Workers = Math.Max(Environment.ProcessorCount + 1, repository.Storage.Properties.Connections),
        };
        var restorer = new Restorer(repository, repository, progress);
        if (request.DryRun)
        {
            return new RestoreOutcome(id, await restorer.PlanAsync(snapshot.Tree, options, cancellationToken), null);
        }
        await restorer.CheckIncludesAsync(snapshot.Tree, options, cancellationToken);
        // Inputs are checked; only now does the restore show itself to other processes.
        await session.LockAsync(LockKind.Shared, "restore", cancellationToken);
        var (plan, result) = await restorer.RestoreAsync(snapshot.Tree, options, cancellationToken);
        return new RestoreOutcome(id, plan, result);
    }
}
