using Arca.Backup;
using Arca.Repo;
using Arca.Sources.Files;
using Arca.Trees;

namespace Arca.Operations;

public sealed record BackupRequest
{
    public required IReadOnlyList<string> Paths { get; init; }
    public IReadOnlyList<string> Excludes { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Host { get; init; }

    public void Validate()
    {
        if (Paths.Count == 0)
        {
            throw new ArcaException(ErrorCode.Usage, "No path to back up was given.", "Name one or more files or folders: arca backup PATH...");
        }
        foreach (var path in Paths)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full) && !Directory.Exists(full) && new FileInfo(full).LinkTarget is null)
            {
                throw new ArcaException(ErrorCode.PathNotFound, $"The path '{path}' does not exist.", "Check the spelling, or mount what should be there.");
            }
        }
        var names = Paths.Select(p => Archiver.RootName(Path.GetFullPath(p))).GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (names is not null)
        {
            throw new ArcaException(ErrorCode.Usage, $"Two paths to back up share the name '{names.Key}', and a snapshot keeps each path by its last component.",
                "Back them up in separate snapshots, or back up their common parent folder.");
        }
        foreach (var tag in Tags)
        {
            if (string.IsNullOrWhiteSpace(tag) || tag.Contains(','))
            {
                throw new ArcaException(ErrorCode.Usage, $"The tag '{tag}' is empty or holds a comma.", "Use tags like 'daily' or 'before-migration'.");
            }
        }
    }
}

public sealed record BackupResult(SnapshotId Id, Snapshot Snapshot, SnapshotId? Parent);

/// <summary>
/// Backs up paths into a new snapshot: finds the parent (the newest snapshot of the same host and
/// paths), archives, uploads every pack and index file, and only then writes the snapshot. Interrupted
/// at any point, it leaves no snapshot, only packs that prune removes.
/// </summary>
public sealed class BackupOperation(TimeProvider time)
{
    public async Task<BackupResult> RunAsync(RepositorySession session, BackupRequest request, IBackupProgress progress,
        CancellationToken cancellationToken)
    {
        request.Validate();
        var repository = session.Repository;
        var paths = request.Paths.Select(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))).OrderBy(p => p, StringComparer.Ordinal).ToList();
        var host = string.IsNullOrWhiteSpace(request.Host) ? Environment.MachineName : request.Host;
        var excludes = request.Excludes.Select(e => new Glob(e)).ToList();
        var start = time.GetUtcNow();

        var parent = (await repository.LoadAllSnapshotsAsync(cancellationToken))
            .Where(s => s.Snapshot.Hostname == host && s.Snapshot.Paths.SequenceEqual(paths))
            .Select(s => ((SnapshotId Id, Snapshot Snapshot)?)s)
            .LastOrDefault();
        Tree? parentRoot = null;
        if (parent is { } p)
        {
            parentRoot = await repository.LoadTreeAsync(p.Snapshot.Tree, cancellationToken);
        }

        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Lock?.Lost ?? CancellationToken.None);
        var archiver = new Archiver(repository, repository, repository.Chunker, new ArchiverOptions { Excludes = excludes }, progress);
        var root = await archiver.ArchiveAsync(paths, parentRoot, lost.Token);
        await repository.FlushAsync(lost.Token);
        var snapshot = new Snapshot
        {
            Time = start,
            Tree = root,
            Paths = paths,
            Hostname = host,
            Username = Environment.UserName,
            Tags = request.Tags,
            Parent = parent?.Id,
            ProgramVersion = ProgramInfo.Version,
            Summary = archiver.Summary(start, time.GetUtcNow(), repository.AddedSoFar),
        };
        var id = await repository.SaveSnapshotAsync(snapshot, lost.Token);
        return new BackupResult(id, snapshot, parent?.Id);
    }
}
