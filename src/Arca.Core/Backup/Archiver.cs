using Arca.Native;
using Arca.Repo;
using Arca.Repo.Chunking;
using Arca.Trees;

namespace Arca.Backup;

/// <summary>
/// Turns file trees into blobs and trees.
///
/// The walk is depth-first and sorted; a folder met while a core is free is walked by a task of its own, alongside.
/// For each folder the walker lists and stats the entries and starts
/// a task per changed file (at most <see cref="ArchiverOptions.FileWorkers"/> at once); it moves on at once,
/// and the folder's tree is finished by a continuation when its children are done, so no folder boundary
/// ever drains the pipeline. A file task reads, chunks and hashes, and compresses, seals and packs each chunk
/// the repository lacks, straight from the chunker's buffer. A file whose
/// size, mtime, ctime and inode match the parent snapshot's entry is not read: its content list is reused.
///
/// Per-item failures (unreadable file, vanished entry, file changed while read) are recorded in
/// <see cref="Errors"/> and reported; the backup goes on and the snapshot is marked partial.
/// </summary>
public sealed class Archiver
{
    private readonly IBlobSaver _saver;
    private readonly ITreeLoader _trees;
    private readonly Chunker _chunker;
    private readonly ArchiverOptions _options;
    private readonly IBackupProgress _progress;
    private readonly SemaphoreSlim _fileSlots;
    private readonly SemaphoreSlim _walkerSlots = new(Environment.ProcessorCount);
    private readonly List<ItemError> _errors = [];
    private long _filesNew, _filesChanged, _filesUnmodified, _dirs, _totalFiles, _totalBytes, _treesAdded;

    public Archiver(IBlobSaver saver, ITreeLoader trees, Chunker chunker, ArchiverOptions options, IBackupProgress progress)
    {
        _saver = saver;
        _trees = trees;
        _chunker = chunker;
        _options = options;
        _progress = progress;
        _fileSlots = new SemaphoreSlim(Math.Max(1, options.FileWorkers));
    }

    public IReadOnlyList<ItemError> Errors
    {
        get { lock (_errors) return [.. _errors]; }
    }

    public SnapshotSummary Summary(DateTimeOffset start, DateTimeOffset end, (long Blobs, long Bytes, long Stored) added) => new()
    {
        BackupStart = start,
        BackupEnd = end,
        FilesNew = _filesNew,
        FilesChanged = _filesChanged,
        FilesUnmodified = _filesUnmodified,
        Dirs = _dirs,
        TotalFiles = _totalFiles,
        TotalBytes = _totalBytes,
        DataBlobsAdded = added.Blobs - _treesAdded,
        TreeBlobsAdded = _treesAdded,
        BytesAdded = added.Bytes,
        BytesAddedStored = added.Stored,
        Errors = Errors,
    };

    /// <summary>
    /// Archives <paramref name="paths"/> (absolute, existing) as the entries of one root tree, named by
    /// their last component. <paramref name="parentRoot"/> is the parent snapshot's root tree, if any.
    /// Returns the root tree's id.
    /// </summary>
    public async Task<BlobId> ArchiveAsync(IReadOnlyList<string> paths, Tree? parentRoot, CancellationToken cancellationToken) =>
        await SaveRootAsync(await ArchiveEntriesAsync(paths, parentRoot, cancellationToken), cancellationToken);

    /// <summary>
    /// Archives <paramref name="paths"/> into the nodes a root tree would hold, so that a backup can put
    /// other sources' entries (databases) beside them before <see cref="SaveRootAsync"/>.
    /// </summary>
    public async Task<List<Node>> ArchiveEntriesAsync(IReadOnlyList<string> paths, Tree? parentRoot, CancellationToken cancellationToken)
    {
        var children = new List<Task<Node?>>();
        foreach (var path in paths.OrderBy(p => RootName(p), StringComparer.Ordinal))
        {
            var name = RootName(path);
            children.Add(await StartEntryAsync(path, name, parentRoot?.Find(name), cancellationToken));
        }
        var nodes = new List<Node>(children.Count);
        foreach (var child in children)
        {
            if (await child is { } node)
            {
                nodes.Add(node);
            }
        }
        return nodes;
    }

    /// <summary>Saves a snapshot's root tree from its entries (in any order; names must differ).</summary>
    public Task<BlobId> SaveRootAsync(IEnumerable<Node> entries, CancellationToken cancellationToken) =>
        SaveTreeAsync([.. entries.OrderBy(n => n.Name, StringComparer.Ordinal)], cancellationToken);

    /// <summary>The name a backed-up path takes in the snapshot's root tree.</summary>
    public static string RootName(string path)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
        return name.Length == 0 ? "ROOT" : name;
    }

    private void Fail(string path, string message)
    {
        lock (_errors)
        {
            _errors.Add(new ItemError(path, message));
        }
        _progress.Error(path, message);
    }

    /// <summary>Stats one entry and starts its work; the returned task yields its node (null if skipped).</summary>
    private async Task<Task<Node?>> StartEntryAsync(string path, string name, Node? parent, CancellationToken cancellationToken)
    {
        FileStatus status;
        try
        {
            status = Posix.LinkStatus(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(path, ex.Message);
            return Task.FromResult<Node?>(null);
        }
        switch (status.Mode & 0xF000)
        {
            case 0x4000:
                if (!_walkerSlots.Wait(0, CancellationToken.None))
                {
                    return await StartDirectoryAsync(path, name, status, parent, cancellationToken);
                }
                // A free walker takes this folder alongside. When little has changed, walking is the whole
                // backup (a stat per entry, a parent tree to load and a tree to hash per folder), and one walker
                // would leave the other cores idle. Never waited for, so walkers cannot wait on each other.
                var walk = Task.Run(async () =>
                {
                    try
                    {
                        return await StartDirectoryAsync(path, name, status, parent, cancellationToken);
                    }
                    finally
                    {
                        _walkerSlots.Release();
                    }
                }, cancellationToken);
                return walk.Unwrap();
            case 0x8000:
                Interlocked.Increment(ref _totalFiles);
                Interlocked.Add(ref _totalBytes, status.Size);
                if (parent is { Type: NodeType.File, Content: { } content } && Unchanged(parent, status) && content.All(_saver.HasBlob))
                {
                    Interlocked.Increment(ref _filesUnmodified);
                    _progress.FileDone(path, status.Size, unchanged: true);
                    return Task.FromResult<Node?>(MakeNode(name, NodeType.File, status) with { Content = content });
                }
                await _fileSlots.WaitAsync(cancellationToken);
                var isNew = parent is null;
                return Task.Run(async () =>
                {
                    try
                    {
                        return await SaveFileAsync(path, name, status, isNew, cancellationToken);
                    }
                    finally
                    {
                        _fileSlots.Release();
                    }
                }, cancellationToken);
            case 0xA000:
                try
                {
                    // LinkTarget is readlink(2): the link's own text, never resolved.
                    var link = new FileInfo(path).LinkTarget ?? "";
                    return Task.FromResult<Node?>(MakeNode(name, NodeType.Symlink, status) with { LinkTarget = link });
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Fail(path, ex.Message);
                    return Task.FromResult<Node?>(null);
                }
            default:
                Fail(path, "is a device, socket or pipe; only files, folders and symlinks are backed up, so it was skipped");
                return Task.FromResult<Node?>(null);
        }
    }

    private static bool Unchanged(Node parent, FileStatus status) =>
        parent.Size == status.Size && parent.ModifyTimeNs == status.ModifyTimeNs &&
        parent.ChangeTimeNs == status.ChangeTimeNs && parent.Inode == status.Inode;

    private static Node MakeNode(string name, NodeType type, FileStatus status) => new()
    {
        Name = name,
        Type = type,
        Mode = status.Mode & 0xFFF,
        Uid = status.Uid,
        Gid = status.Gid,
        Size = type == NodeType.File ? status.Size : 0,
        ModifyTimeNs = status.ModifyTimeNs,
        ChangeTimeNs = status.ChangeTimeNs,
        Inode = status.Inode,
        Device = status.Device,
    };

    private async Task<Task<Node?>> StartDirectoryAsync(string path, string name, FileStatus status, Node? parent,
        CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _dirs);
        Tree? parentTree = null;
        if (parent is { Type: NodeType.Dir, Subtree: { } subtree })
        {
            try
            {
                parentTree = await _trees.LoadTreeAsync(subtree, cancellationToken);
            }
            catch (Exception ex) when (ex is ArcaException or BlobDamagedException)
            {
                parentTree = null; // A damaged parent only costs a full read of this folder.
            }
        }
        string[] names;
        try
        {
            names = [.. Directory.EnumerateFileSystemEntries(path).Select(p => Path.GetFileName(p))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(path, ex.Message);
            return Task.FromResult<Node?>(null);
        }
        Array.Sort(names, StringComparer.Ordinal);
        var children = new List<Task<Node?>>(names.Length);
        foreach (var child in names)
        {
            var childPath = Path.Join(path, child);
            if (IsExcluded(childPath, child))
            {
                continue;
            }
            children.Add(await StartEntryAsync(childPath, child, parentTree?.Find(child), cancellationToken));
        }
        return FinishDirectoryAsync(name, status, children, parentTree is null ? null : (parent!.Subtree!.Value, parentTree), cancellationToken);
    }

    private bool IsExcluded(string path, string name)
    {
        foreach (var glob in _options.Excludes)
        {
            if (glob.IsMatch(path, name))
            {
                return true;
            }
        }
        return false;
    }

    private async Task<Node?> FinishDirectoryAsync(string name, FileStatus status, List<Task<Node?>> children,
        (BlobId Id, Tree Tree)? parent, CancellationToken cancellationToken)
    {
        var nodes = new List<Node>(children.Count);
        foreach (var child in children)
        {
            if (await child is { } node)
            {
                nodes.Add(node);
            }
        }
        // A folder whose entries all equal the parent snapshot's is that snapshot's tree, already stored: reuse its id
        // rather than serialize and hash the same listing again (most folders, when little has changed). An unchanged
        // file's node holds the parent's content list itself, and an unchanged subfolder's the parent's subtree id,
        // so record equality sees them equal.
        var subtree = parent is { } p && nodes.SequenceEqual(p.Tree.Nodes) ? p.Id : await SaveTreeAsync(nodes, cancellationToken);
        return MakeNode(name, NodeType.Dir, status) with { Subtree = subtree };
    }

    private async Task<BlobId> SaveTreeAsync(List<Node> nodes, CancellationToken cancellationToken)
    {
        var bytes = new Tree(nodes).Serialize();
        var id = _saver.IdOf(bytes);
        if (await _saver.SaveBlobAsync(BlobType.Tree, id, bytes, cancellationToken))
        {
            Interlocked.Increment(ref _treesAdded);
        }
        return id;
    }

    private async Task<Node?> SaveFileAsync(string path, string name, FileStatus before, bool isNew, CancellationToken cancellationToken)
    {
        var content = new List<BlobId>();
        long size = 0;
        try
        {
            await using var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                BufferSize = 0,
                Options = FileOptions.SequentialScan,
            });
            if (before.Size <= _chunker.Parameters.MinSize)
            {
                // Small files (most files) are one chunk: read them whole, without the chunker's large buffer.
                var buffer = BufferPool.Shared.Rent((int)Math.Max(1, before.Size + 1));
                try
                {
                    var n = await ReadFullyAsync(file, buffer, cancellationToken);
                    if (n > before.Size)
                    {
                        throw new IOException("it grew while being read");
                    }
                    if (n > 0)
                    {
                        size = n;
                        await SaveChunkAsync(buffer.AsMemory(0, n), content, cancellationToken);
                    }
                }
                finally
                {
                    BufferPool.Shared.Return(buffer);
                }
            }
            else
            {
                using var chunks = new StreamChunker(file, _chunker, BufferPool.Shared);
                while (await chunks.NextAsync(cancellationToken) is { } chunk)
                {
                    size += chunk.Length;
                    await SaveChunkAsync(chunk, content, cancellationToken);
                }
            }
            _progress.BytesRead(size);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(path, ex.Message);
            return null;
        }
        FileStatus after;
        try
        {
            after = Posix.LinkStatus(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(path, $"vanished while being read ({ex.Message})");
            return null;
        }
        if (after.Size != before.Size || after.ModifyTimeNs != before.ModifyTimeNs || size != before.Size)
        {
            // Keep what was read, but say so: the snapshot is partial for this file.
            Fail(path, "changed while being read; the snapshot holds the bytes read, which may mix old and new content");
        }
        if (isNew)
        {
            Interlocked.Increment(ref _filesNew);
        }
        else
        {
            Interlocked.Increment(ref _filesChanged);
        }
        _progress.FileDone(path, size, unchanged: false);
        return MakeNode(name, NodeType.File, before) with { Size = size, Content = content };
    }

    private static async Task<int> ReadFullyAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    /// <summary>
    /// Hashes a chunk, appends its id, and stores it if the repository lacks it. The file's own task compresses
    /// and seals it straight from the chunker's buffer: no copy of the chunk, and the file workers alone keep
    /// every core busy (each new chunk costs far more CPU than reading it from the page cache).
    /// </summary>
    private async Task SaveChunkAsync(ReadOnlyMemory<byte> chunk, List<BlobId> content, CancellationToken cancellationToken)
    {
        var id = _saver.IdOf(chunk.Span);
        content.Add(id);
        if (!_saver.HasBlob(id))
        {
            await _saver.SaveBlobAsync(BlobType.Data, id, chunk, cancellationToken);
        }
    }
}
