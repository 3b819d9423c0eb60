using Arca.Native;
using Arca.Repo;
using Arca.Trees;

namespace Arca.Restore;

/// <summary>
/// Restores a snapshot's tree into a folder, in two steps: <see cref="PlanAsync"/> walks the tree and
/// decides, entry by entry, what to create, overwrite or skip; <see cref="ExecuteAsync"/> carries the plan
/// out. Folders first, then the files' content pack by pack (<see cref="ContentRestore"/>: each blob is
/// decrypted, decompressed and checked against its keyed id before a byte is written, and a file with a
/// damaged blob is deleted, so no wrong bytes remain), then symlinks, then folder modes and mtimes, deepest
/// first.
///
/// Nothing is written outside the target: tree names are single components (checked when a tree is
/// parsed), and a folder on the way that is a symlink at the destination is never followed.
/// </summary>
public sealed class Restorer
{
    private readonly IBlobLoader _blobs;
    private readonly ITreeLoader _trees;
    private readonly IRestoreProgress _progress;

    public Restorer(IBlobLoader blobs, ITreeLoader trees, IRestoreProgress progress)
    {
        _blobs = blobs;
        _trees = trees;
        _progress = progress;
    }

    public async Task<RestorePlan> PlanAsync(BlobId root, RestoreOptions options, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(options.Target);
        // "/" names the whole snapshot: the same as no include at all.
        var normalized = options.Includes.Select(NormalizeSnapshotPath).ToList();
        var includes = normalized.Contains("") ? [] : normalized;
        var found = new HashSet<string>(StringComparer.Ordinal);
        var actions = new List<RestoreAction>();
        await WalkAsync(_trees.LoadTreeAsync(root, cancellationToken), "", target, destinationIsNew: !Path.Exists(target), includes, found, options, actions, cancellationToken);
        var missing = includes.Where(i => !found.Contains(i)).ToList();
        if (missing.Count > 0)
        {
            throw new ArcaException(ErrorCode.PathNotFound, $"The snapshot holds no path '{missing[0]}'.",
                "List its contents with 'arca ls SNAPSHOT'.");
        }
        return new RestorePlan(target, actions);
    }

    public static string NormalizeSnapshotPath(string path) => string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>
    /// How many subtrees of one folder are loaded ahead of the walk: loading (read, decrypt, decompress, parse) is most
    /// of a plan's time, and done one by one it kept one core busy while the others waited for the plan.
    /// </summary>
    private const int SubtreesAhead = 16;

    /// <summary>Packs read at once: each holds buffers for its largest blob (up to twice the chunker's maximum).</summary>
    private const int MaxPackReaders = 8;

    /// <param name="destinationIsNew">The folder <paramref name="destination"/> does not exist yet, so nothing in it does:
    /// its entries are created without asking the file system (a stat of each would cost a tenth of a fresh restore).</param>
    private async Task WalkAsync(Task<Tree> loading, string prefix, string destination, bool destinationIsNew, List<string> includes, HashSet<string> found,
        RestoreOptions options, List<RestoreAction> actions, CancellationToken cancellationToken)
    {
        var tree = await loading;
        var chosen = new List<(Node Node, string Path, bool Selected)>();
        foreach (var node in tree.Nodes)
        {
            var path = prefix.Length == 0 ? node.Name : prefix + "/" + node.Name;
            if (options.Excludes.Any(g => g.IsMatch("/" + path, node.Name)))
            {
                continue;
            }
            var selected = includes.Count == 0;
            var onTheWay = false;
            foreach (var include in includes)
            {
                if (path == include)
                {
                    found.Add(include);
                    selected = true;
                }
                else if (path.StartsWith(include + "/", StringComparison.Ordinal))
                {
                    selected = true;
                }
                else if (include.StartsWith(path + "/", StringComparison.Ordinal))
                {
                    onTheWay = true;
                }
            }
            if (selected || (onTheWay && node.Type == NodeType.Dir))
            {
                chosen.Add((node, path, selected));
            }
        }

        var subtrees = chosen.Where(c => c.Node is { Type: NodeType.Dir, Subtree: not null }).Select(c => c.Node.Subtree!.Value).ToList();
        var ahead = new Queue<Task<Tree>>();
        var started = 0;
        void LoadAhead()
        {
            while (started < subtrees.Count && ahead.Count < SubtreesAhead)
            {
                ahead.Enqueue(_trees.LoadTreeAsync(subtrees[started++], cancellationToken));
            }
        }
        foreach (var (node, path, selected) in chosen)
        {
            var dest = Path.Join(destination, node.Name);
            var kind = destinationIsNew ? RestoreActionKind.Create : Decide(node, dest, options.Overwrite);
            actions.Add(new RestoreAction(path, dest, node, kind));
            if (node is { Type: NodeType.Dir, Subtree: not null })
            {
                LoadAhead();
                await WalkAsync(ahead.Dequeue(), path, dest, kind == RestoreActionKind.Create, selected ? [] : includes, found, options, actions, cancellationToken);
            }
        }
    }

    private static RestoreActionKind Decide(Node node, string destination, OverwriteMode mode)
    {
        if (!Posix.TryLinkStatus(destination, out var existing))
        {
            return RestoreActionKind.Create;
        }
        if (node.Type == NodeType.Dir && (existing.Mode & 0xF000) == 0x4000)
        {
            return RestoreActionKind.Overwrite; // an existing folder is entered, and gets the snapshot's mode and mtime
        }
        return mode switch
        {
            OverwriteMode.Always => RestoreActionKind.Overwrite,
            OverwriteMode.IfNewer when node.ModifyTimeNs > existing.ModifyTimeNs => RestoreActionKind.Overwrite,
            _ => RestoreActionKind.Skip,
        };
    }

    public async Task<RestoreResult> ExecuteAsync(RestorePlan plan, RestoreOptions options, CancellationToken cancellationToken)
    {
        var errors = new List<ItemError>();
        long files = 0, dirs = 0, links = 0, skipped = 0, bytes = 0;
        var damaged = 0;
        var failedDirs = new List<string>();
        void Fail(string path, string message)
        {
            lock (errors)
            {
                errors.Add(new ItemError(path, message));
            }
            _progress.Error(path, message);
        }
        bool UnderFailedDir(string path) => failedDirs.Any(d => path.StartsWith(d + "/", StringComparison.Ordinal));

        Directory.CreateDirectory(plan.Target);
        foreach (var action in plan.Actions.Where(a => a.Node.Type == NodeType.Dir))
        {
            if (UnderFailedDir(action.Path))
            {
                continue;
            }
            try
            {
                if (EnsureDirectory(action.Destination, options.Overwrite != OverwriteMode.Skip))
                {
                    dirs++;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                failedDirs.Add(action.Path);
                Fail(action.Path, ex.Message);
            }
        }

        var fileActions = plan.Actions.Where(a => a.Node.Type == NodeType.File).ToList();
        _progress.Planned(fileActions.Count(a => a.Kind != RestoreActionKind.Skip), plan.BytesToWrite);
        var content = new ContentRestore(_blobs,
            fail: (path, message, blobsAtFault) =>
            {
                if (blobsAtFault)
                {
                    Interlocked.Increment(ref damaged);
                }
                Fail(path, message);
            },
            done: (path, size) =>
            {
                Interlocked.Increment(ref files);
                Interlocked.Add(ref bytes, size);
                _progress.FileDone(path, size);
            });
        foreach (var action in fileActions)
        {
            if (action.Kind == RestoreActionKind.Skip || UnderFailedDir(action.Path))
            {
                skipped++;
                continue;
            }
            content.Add(action, action.Kind == RestoreActionKind.Create ? action.Destination : TempNameFor(action.Destination));
        }
        await content.RunAsync(Math.Min(options.Workers, MaxPackReaders), cancellationToken);

        foreach (var action in plan.Actions.Where(a => a.Node.Type == NodeType.Symlink))
        {
            if (action.Kind == RestoreActionKind.Skip || UnderFailedDir(action.Path))
            {
                skipped++;
                continue;
            }
            try
            {
                var temp = TempNameFor(action.Destination);
                File.CreateSymbolicLink(temp, action.Node.LinkTarget ?? "");
                ApplyMetadata(temp, action.Node, isLink: true);
                File.Move(temp, action.Destination, overwrite: true);
                links++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Fail(action.Path, ex.Message);
            }
        }

        // Folder times last, deepest first: writing into a folder changes its mtime.
        foreach (var action in plan.Actions.Where(a => a.Node.Type == NodeType.Dir).Reverse())
        {
            if (action.Kind == RestoreActionKind.Skip || failedDirs.Contains(action.Path) || UnderFailedDir(action.Path))
            {
                continue;
            }
            try
            {
                ApplyMetadata(action.Destination, action.Node, isLink: false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Fail(action.Path, ex.Message);
            }
        }
        return new RestoreResult(files, dirs, links, skipped, bytes, errors, damaged);
    }

    /// <summary>
    /// Makes <paramref name="path"/> a real folder. An existing folder is used; a file or symlink in its place
    /// is replaced when overwriting is allowed (never followed), and is an error otherwise. Returns true if created.
    /// </summary>
    private static bool EnsureDirectory(string path, bool replace)
    {
        if (Posix.TryLinkStatus(path, out var status))
        {
            if ((status.Mode & 0xF000) == 0x4000)
            {
                return false;
            }
            if (!replace)
            {
                throw new IOException($"{path} exists and is not a folder; it was left alone (restore with --overwrite always to replace it).");
            }
            File.Delete(path);
        }
        Directory.CreateDirectory(path);
        return true;
    }

    private static string TempNameFor(string destination) =>
        Path.Join(Path.GetDirectoryName(destination), ".arca-restore-" + Guid.NewGuid().ToString("N")[..12]);

    private static void ApplyMetadata(string path, Node node, bool isLink)
    {
        if (Posix.EffectiveUserId == 0)
        {
            Posix.SetOwner(path, node.Uid, node.Gid, noFollow: true);
        }
        if (!isLink)
        {
            // After chown: changing the owner clears setuid and setgid bits.
            File.SetUnixFileMode(path, (UnixFileMode)(node.Mode & 0xFFF));
        }
        Posix.SetTimes(path, node.ModifyTimeNs, node.ModifyTimeNs, noFollow: true);
    }
}
