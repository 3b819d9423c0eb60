using System.Collections.Concurrent;
using System.Security.Cryptography;
using Arca.Repo.Format;
using Arca.Storage;
using Arca.Trees;

namespace Arca.Repo;

/// <summary>
/// Proves a repository whole. Structure: every index file opens, every pack an index names exists and is
/// long enough, every snapshot opens, every tree it reaches loads, and every blob a tree names is indexed.
/// With data reading: every chosen pack's bytes hash to its name, its trailer matches the index, and every
/// blob in it decrypts, decompresses and hashes to its id. A damaged pack is named with the files it affects.
/// </summary>
public sealed class Checker
{
    private readonly Repository _repository;

    public Checker(Repository repository) => _repository = repository;

    /// <param name="readDataFraction">0 for structure only; 1 to read every pack; in between, a random subset.</param>
    public async Task<CheckResult> CheckAsync(double readDataFraction, CancellationToken cancellationToken)
    {
        var problems = new ConcurrentBag<string>();
        var storage = _repository.Storage;
        var packsInStorage = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var entry in storage.ListAsync(StorageKind.Pack, cancellationToken))
        {
            packsInStorage[entry.Key.Name] = entry.Length;
        }

        // Index files, each on its own, so one damaged file is reported rather than stopping the check. Files
        // that another supersedes (left by a prune that stopped early) are read but not counted, as when loading.
        var indexed = new Dictionary<PackId, List<BlobEntry>>();
        var indexFiles = new List<(string Name, IndexFile File)>();
        await foreach (var entry in storage.ListAsync(StorageKind.Index, cancellationToken))
        {
            try
            {
                var bytes = await storage.ReadAllAsync(entry.Key, cancellationToken);
                if (Convert.ToHexStringLower(SHA256.HashData(bytes)) != entry.Key.Name)
                {
                    problems.Add($"Index file {entry.Key.Name} does not hash to its name: it is damaged.");
                    continue;
                }
                indexFiles.Add((entry.Key.Name, IndexFile.Decode(_repository.OpenFile(bytes, $"Index file {entry.Key.Name}"), entry.Key.Name)));
            }
            catch (InvalidDataException ex)
            {
                problems.Add(ex.Message);
            }
        }
        var superseded = indexFiles.SelectMany(f => f.File.Supersedes).Select(h => h.ToString()).ToHashSet(StringComparer.Ordinal);
        foreach (var (_, file) in indexFiles.Where(f => !superseded.Contains(f.Name)))
        {
            foreach (var pack in file.Packs)
            {
                indexed[pack.Pack] = [.. pack.Blobs];
                _repository.Index.AddPack(pack.Pack, pack.Blobs);
            }
        }
        foreach (var (pack, blobs) in indexed)
        {
            if (!packsInStorage.TryGetValue(pack.ToString(), out var length))
            {
                problems.Add($"Pack {pack} is named by the index but missing from storage.");
            }
            else if (blobs.Count > 0 && blobs.Max(b => (long)b.Offset + b.StoredLength) > length)
            {
                problems.Add($"Pack {pack} is shorter ({length} bytes) than its index entries say.");
            }
        }
        var unreferenced = packsInStorage.Keys.Count(name => !Hash256.TryParse(name, out var h) || !indexed.ContainsKey(new PackId(h)));

        // Snapshots and every tree they reach.
        var snapshots = new List<(SnapshotId, Snapshot)>();
        await foreach (var id in _repository.ListSnapshotIdsAsync(cancellationToken))
        {
            try
            {
                snapshots.Add((id, await _repository.LoadSnapshotAsync(id, cancellationToken)));
            }
            catch (ArcaException ex)
            {
                problems.Add(ex.Message);
            }
        }
        var trees = new Dictionary<BlobId, Tree?>();
        foreach (var (id, snapshot) in snapshots)
        {
            await WalkAsync(snapshot.Tree, $"snapshot {id.Short}", trees, problems, cancellationToken);
        }

        var damaged = new List<DamagedPack>();
        int packsRead = 0;
        long bytesRead = 0;
        if (readDataFraction > 0)
        {
            var chosen = indexed.Keys.Where(p => packsInStorage.ContainsKey(p.ToString())).ToList();
            if (readDataFraction < 1)
            {
                chosen = [.. chosen.OrderBy(_ => Random.Shared.Next()).Take((int)Math.Ceiling(chosen.Count * readDataFraction))];
            }
            var bad = new ConcurrentBag<(PackId Pack, string Reason, List<BlobId> Blobs)>();
            await Parallel.ForEachAsync(chosen,
                new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
                async (pack, ct) =>
                {
                    var length = (int)packsInStorage[pack.ToString()];
                    var buffer = BufferPool.Shared.Rent(length);
                    try
                    {
                        await storage.ReadIntoAsync(new StorageKey(StorageKind.Pack, pack.ToString()), 0, buffer.AsMemory(0, length), ct);
                        Interlocked.Increment(ref packsRead);
                        Interlocked.Add(ref bytesRead, length);
                        var (reason, blobs) = ReadPack(pack, buffer.AsMemory(0, length), indexed[pack]);
                        if (reason is not null)
                        {
                            bad.Add((pack, reason, blobs));
                        }
                    }
                    finally
                    {
                        BufferPool.Shared.Return(buffer);
                    }
                });
            foreach (var (pack, reason, blobs) in bad.OrderBy(b => b.Pack.Hash))
            {
                damaged.Add(new DamagedPack(pack, reason, await AffectedFilesAsync(snapshots, trees, [.. blobs], cancellationToken)));
            }
        }
        return new CheckResult
        {
            Snapshots = snapshots.Count,
            Trees = trees.Count,
            IndexedBlobs = indexed.Values.Sum(b => b.Count),
            Packs = packsInStorage.Count,
            PacksRead = packsRead,
            BytesRead = bytesRead,
            UnreferencedPacks = unreferenced,
            Problems = [.. problems.Order(StringComparer.Ordinal)],
            DamagedPacks = damaged,
        };
    }

    private async Task WalkAsync(BlobId treeId, string where, Dictionary<BlobId, Tree?> trees, ConcurrentBag<string> problems,
        CancellationToken cancellationToken)
    {
        if (trees.ContainsKey(treeId))
        {
            return;
        }
        Tree? tree = null;
        try
        {
            tree = await _repository.LoadTreeAsync(treeId, cancellationToken);
        }
        catch (Exception ex) when (ex is ArcaException or BlobDamagedException)
        {
            problems.Add($"Tree {treeId} ({where}) cannot be read: {ex.Message}");
        }
        trees[treeId] = tree;
        if (tree is null)
        {
            return;
        }
        foreach (var node in tree.Nodes)
        {
            foreach (var blob in node.Content ?? [])
            {
                if (!_repository.Index.Contains(blob))
                {
                    problems.Add($"Blob {blob} of {where}/{node.Name} is not in the index.");
                }
            }
            if (node.Subtree is { } subtree)
            {
                await WalkAsync(subtree, $"{where}/{node.Name}", trees, problems, cancellationToken);
            }
        }
    }

    /// <summary>Checks one pack's bytes; returns why it is damaged (or null) and the blobs that cannot be trusted.</summary>
    private (string? Reason, List<BlobId> Blobs) ReadPack(PackId pack, ReadOnlyMemory<byte> memory, List<BlobEntry> indexEntries)
    {
        var bytes = memory.Span;
        var all = indexEntries.Select(e => e.Id).ToList();
        if (new Hash256(SHA256.HashData(bytes)) != pack.Hash)
        {
            // The name is the hash of the bytes: some byte changed. Find which blobs still open, to name only the affected ones.
            var broken = new List<BlobId>();
            foreach (var entry in indexEntries)
            {
                if (!BlobOpens(pack, memory.Span, entry))
                {
                    broken.Add(entry.Id);
                }
            }
            var where = broken.Count > 0 ? $"{broken.Count} of its {indexEntries.Count} blobs fail their check" : "its trailer is damaged";
            return ($"its bytes do not hash to its name; {where}", broken.Count > 0 ? broken : all);
        }
        try
        {
            var headerLength = PackTrailer.HeaderLength(bytes[^4..]);
            if (headerLength <= 0 || headerLength > bytes.Length - 4)
            {
                return ("its trailer records an impossible header length", all);
            }
            var header = PackTrailer.Decode(_repository.Key.Sealer, bytes.Slice(bytes.Length - 4 - headerLength, headerLength), pack.ToString());
            var byId = header.ToDictionary(e => e.Id);
            foreach (var entry in indexEntries)
            {
                if (!byId.TryGetValue(entry.Id, out var inPack) || inPack != entry)
                {
                    return ($"its header does not list blob {entry.Id} where the index says", all);
                }
            }
        }
        catch (InvalidDataException ex)
        {
            return (ex.Message, all);
        }
        foreach (var entry in indexEntries)
        {
            if (!BlobOpens(pack, memory.Span, entry))
            {
                return ($"blob {entry.Id} fails its check", [entry.Id]);
            }
        }
        return (null, []);
    }

    private bool BlobOpens(PackId pack, ReadOnlySpan<byte> bytes, BlobEntry entry)
    {
        if ((long)entry.Offset + entry.StoredLength > bytes.Length)
        {
            return false;
        }
        try
        {
            var plain = BufferPool.Shared.Rent((int)entry.RawLength);
            try
            {
                _repository.OpenBlob(pack, entry, bytes.Slice((int)entry.Offset, (int)entry.StoredLength), plain);
            }
            finally
            {
                BufferPool.Shared.Return(plain);
            }
            return true;
        }
        catch (BlobDamagedException)
        {
            return false;
        }
    }

    private static Task<List<AffectedFile>> AffectedFilesAsync(List<(SnapshotId Id, Snapshot Snapshot)> snapshots,
        Dictionary<BlobId, Tree?> trees, HashSet<BlobId> blobs, CancellationToken cancellationToken)
    {
        var result = new List<AffectedFile>();
        foreach (var (id, snapshot) in snapshots)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Collect(snapshot.Tree, "");
            void Collect(BlobId treeId, string prefix)
            {
                var path = prefix.Length == 0 ? "/" : prefix;
                if (blobs.Contains(treeId))
                {
                    result.Add(new AffectedFile(id, path + " (folder listing)"));
                }
                if (!trees.TryGetValue(treeId, out var tree) || tree is null)
                {
                    return;
                }
                foreach (var node in tree.Nodes)
                {
                    var nodePath = prefix + "/" + node.Name;
                    if (node.Content is { } content && content.Any(blobs.Contains))
                    {
                        result.Add(new AffectedFile(id, nodePath));
                    }
                    if (node.Subtree is { } subtree)
                    {
                        Collect(subtree, nodePath);
                    }
                }
            }
        }
        return Task.FromResult(result);
    }
}
