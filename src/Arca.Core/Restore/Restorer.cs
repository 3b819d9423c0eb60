using System.Runtime.ExceptionServices;
using Arca.Native;
using Arca.Repo;
using Arca.Trees;

namespace Arca.Restore;

/// <summary>
/// Restores a snapshot's tree into a folder. The walk of the tree (<see cref="PlanAsync"/>) decides, entry by
/// entry, what to create, overwrite or skip; a dry run stops there. <see cref="RestoreAsync"/> carries each
/// decision out as the walk makes it: a folder is made when met (before anything inside it), a file goes to
/// <see cref="ContentRestore"/>, which starts reading packs while the walk goes on (each blob is decrypted,
/// decompressed and checked against its keyed id before a byte is written, and a file with a damaged blob is
/// deleted, so no wrong bytes remain). Symlinks come once every file is written, then folder modes and mtimes,
/// deepest first. Walking first and writing after left a core idle while the walk ran: a third of a restore of
/// 22,000 files from S3.
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

    /// <summary>Walks the snapshot's tree and decides what to do with each entry, writing nothing.</summary>
    public Task<RestorePlan> PlanAsync(BlobId root, RestoreOptions options, CancellationToken cancellationToken) =>
        WalkTreeAsync(root, options, targetIsNew: !Path.Exists(options.Target), sink: null, cancellationToken);

    /// <summary>
    /// Throws <see cref="ErrorCode.PathNotFound"/> for an include the snapshot does not hold, looking only along the
    /// includes' paths: a mistyped path is found before anything is written or locked.
    /// </summary>
    public async Task CheckIncludesAsync(BlobId root, RestoreOptions options, CancellationToken cancellationToken)
    {
        foreach (var include in options.Includes.Select(NormalizeSnapshotPath).Where(i => i.Length > 0))
        {
            BlobId? tree = root;
            var path = "";
            foreach (var name in include.Split('/'))
            {
                path = path.Length == 0 ? name : path + "/" + name;
                var node = tree is { } id ? (await _trees.LoadTreeAsync(id, cancellationToken)).Nodes.FirstOrDefault(n => n.Name == name) : null;
                if (node is null || IsExcluded(options, path, name))
                {
                    throw NoSuchPath(include);
                }
                tree = node.Type == NodeType.Dir ? node.Subtree : null;
            }
        }
    }

    private static bool IsExcluded(RestoreOptions options, string path, string name) => options.Excludes.Any(g => g.IsMatch("/" + path, name));

    private static ArcaException NoSuchPath(string include) =>
        new(ErrorCode.PathNotFound, $"The snapshot holds no path '{include}'.", "List its contents with 'arca ls SNAPSHOT'.");

    /// <param name="targetIsNew">The target did not exist before the restore: nothing in it is looked at (see <see cref="WalkAsync"/>).</param>
    private async Task<RestorePlan> WalkTreeAsync(BlobId root, RestoreOptions options, bool targetIsNew, Action<RestoreAction>? sink,
        CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(options.Target);
        // "/" names the whole snapshot: the same as no include at all.
        var normalized = options.Includes.Select(NormalizeSnapshotPath).ToList();
        var includes = normalized.Contains("") ? [] : normalized;
        var found = new HashSet<string>(StringComparer.Ordinal);
        var actions = new List<RestoreAction>();
        await WalkAsync(_trees.LoadTreeAsync(root, cancellationToken), "", target, targetIsNew, includes, found, options, actions, sink,
            cancellationToken);
        if (includes.FirstOrDefault(i => !found.Contains(i)) is { } missing)
        {
            throw NoSuchPath(missing);
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
        RestoreOptions options, List<RestoreAction> actions, Action<RestoreAction>? sink, CancellationToken cancellationToken)
    {
        var tree = await loading;
        var chosen = new List<(Node Node, string Path, bool Selected)>();
        foreach (var node in tree.Nodes)
        {
            var path = prefix.Length == 0 ? node.Name : prefix + "/" + node.Name;
            if (IsExcluded(options, path, node.Name))
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
            var action = new RestoreAction(path, dest, node, kind);
            actions.Add(action);
            sink?.Invoke(action);
            if (node is { Type: NodeType.Dir, Subtree: not null })
            {
                LoadAhead();
                await WalkAsync(ahead.Dequeue(), path, dest, kind == RestoreActionKind.Create, selected ? [] : includes, found, options, actions, sink,
                    cancellationToken);
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

    /// <summary>
    /// Walks the tree and restores what it decides as it goes (see the class summary); returns the plan it made and what
    /// was done. Whatever stops the walk or the reading of packs stops both, and no half-written file stays; what was
    /// whole by then stays, in folders made as the walk met them (without their snapshot's modes and times).
    /// </summary>
    public async Task<(RestorePlan Plan, RestoreResult Result)> RestoreAsync(BlobId root, RestoreOptions options, CancellationToken cancellationToken)
    {
        var run = new Execution(this);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writing = WriteContentAsync(run.Content, Math.Min(options.Workers, MaxPackReaders), stop);
        RestorePlan plan;
        try
        {
            var targetIsNew = !Path.Exists(options.Target);
            Directory.CreateDirectory(options.Target);
            plan = await WalkTreeAsync(root, options, targetIsNew, action =>
            {
                stop.Token.ThrowIfCancellationRequested(); // trees read ahead or cached would let the walk go on after a stop
                run.Take(action, options);
            }, stop.Token);
            _progress.Planned(plan.FilesToWrite, plan.BytesToWrite);
            run.Content.Complete();
            await writing;
        }
        catch
        {
            await stop.CancelAsync();
            // The reading failed for good and stopped the walk: its failure is the cause to report, not what the walk met.
            if (await FailureOf(writing) is { } readFailure and not OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                ExceptionDispatchInfo.Throw(readFailure);
            }
            throw;
        }
        finally
        {
            run.Content.DeleteUnfinished();
        }
        return (plan, run.Finish());
    }

    private static async Task<Exception?> FailureOf(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    private static async Task WriteContentAsync(ContentRestore content, int packReaders, CancellationTokenSource stop)
    {
        try
        {
            await content.RunAsync(packReaders, stop.Token);
        }
        catch
        {
            await stop.CancelAsync(); // stops the walk too
            throw;
        }
    }

    /// <summary>One restore's progress through the walk's decisions, and what came of them.</summary>
    private sealed class Execution
    {
        private readonly Restorer _owner;
        private readonly List<ItemError> _errors = [];
        private readonly List<string> _failedDirs = [];
        private readonly List<RestoreAction> _dirs = [];
        private readonly List<RestoreAction> _links = [];
        private long _files, _bytes, _dirsCreated, _skipped;
        private int _damaged;

        public Execution(Restorer owner)
        {
            _owner = owner;
            Content = new ContentRestore(owner._blobs,
                fail: (path, message, blobsAtFault) =>
                {
                    if (blobsAtFault)
                    {
                        Interlocked.Increment(ref _damaged);
                    }
                    Fail(path, message);
                },
                done: (path, size) =>
                {
                    Interlocked.Increment(ref _files);
                    Interlocked.Add(ref _bytes, size);
                    owner._progress.FileDone(path, size);
                });
        }

        public ContentRestore Content { get; }

        private void Fail(string path, string message)
        {
            lock (_errors)
            {
                _errors.Add(new ItemError(path, message));
            }
            _owner._progress.Error(path, message);
        }

        private bool UnderFailedDir(string path) => _failedDirs.Any(d => path.StartsWith(d + "/", StringComparison.Ordinal));

        /// <summary>Acts on one decision of the walk, which comes after the decision about the folder that holds it.</summary>
        public void Take(RestoreAction action, RestoreOptions options)
        {
            if (UnderFailedDir(action.Path))
            {
                _skipped += action.Node.Type == NodeType.Dir ? 0 : 1;
                return;
            }
            switch (action.Node.Type)
            {
                case NodeType.Dir:
                    _dirs.Add(action);
                    try
                    {
                        if (EnsureDirectory(action.Destination, options.Overwrite != OverwriteMode.Skip))
                        {
                            _dirsCreated++;
                        }
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        _failedDirs.Add(action.Path);
                        Fail(action.Path, ex.Message);
                    }
                    break;
                case NodeType.File when action.Kind == RestoreActionKind.Skip:
                    _skipped++;
                    break;
                case NodeType.File:
                    Content.Add(action, action.Kind == RestoreActionKind.Create ? action.Destination : TempNameFor(action.Destination));
                    break;
                case NodeType.Symlink:
                    _links.Add(action);
                    break;
            }
        }

        /// <summary>Once every file is written: symlinks, then folder modes and times, deepest first.</summary>
        public RestoreResult Finish()
        {
            long links = 0;
            foreach (var action in _links)
            {
                if (action.Kind == RestoreActionKind.Skip)
                {
                    _skipped++;
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
            foreach (var action in Enumerable.Reverse(_dirs))
            {
                if (action.Kind == RestoreActionKind.Skip || _failedDirs.Contains(action.Path))
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
            return new RestoreResult(_files, _dirsCreated, links, _skipped, _bytes, _errors, _damaged);
        }
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
