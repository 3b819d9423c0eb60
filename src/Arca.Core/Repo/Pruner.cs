using System.Security.Cryptography;
using Arca.Repo.Format;
using Arca.Repo.Index;
using Arca.Repo.Packs;
using Arca.Storage;

namespace Arca.Repo;

/// <summary>How much space prune may leave unused, and whether it only plans.</summary>
/// <param name="MaxUnused">
/// Unused bytes allowed to stay in partly used packs, as a share of the used bytes' total once pruned
/// (restic's <c>--max-unused</c>): 0.05 repacks until at most 5% of the repository is waste. 0 repacks every
/// partly used pack.
/// </param>
public sealed record PruneOptions(double MaxUnused = 0.05, bool DryRun = false)
{
    public void Validate()
    {
        if (MaxUnused is < 0 or >= 1 || double.IsNaN(MaxUnused))
        {
            throw new ArgumentException("--max-unused must be a percentage from 0% up to (not including) 100%.");
        }
    }
}

/// <summary>What prune found and did (or, in a dry run, would do).</summary>
public sealed record PruneResult
{
    public required int Snapshots { get; init; }
    public required int PacksBefore { get; init; }
    public required long BytesBefore { get; init; }
    /// <summary>Bytes of the blobs that kept snapshots need (one copy each).</summary>
    public required long UsedBytes { get; init; }
    public required long UnusedBytes { get; init; }
    /// <summary>Packs no snapshot needs anything from, deleted whole (including packs no index names).</summary>
    public required int PacksToDelete { get; init; }
    /// <summary>Partly used packs whose needed blobs are copied into new packs before they are deleted.</summary>
    public required int PacksToRepack { get; init; }
    public required long BytesToRepack { get; init; }
    /// <summary>Packs no index names: left by a backup that stopped before writing its index.</summary>
    public required int UnreferencedPacks { get; init; }
    public required long BytesToFree { get; init; }
    public int PacksWritten { get; init; }
    public long BytesFreed { get; init; }
    public bool DryRun { get; init; }
}

/// <summary>
/// Deletes what no snapshot needs and repacks partly used packs, in an order that is safe to stop at any
/// point (SIGKILL included), under an exclusive lock:
/// 1. copy the needed blobs of the packs to repack into new packs (checked on the way: a blob that does not
///    open is never copied); these packs are not indexed yet, so a stop here leaves only unreferenced packs;
/// 2. write the new index (every pack that stays plus the new ones) into new index files, the last of which
///    names every old index file as superseded, so the old index counts until the new one is whole;
/// 3. delete the old index files;
/// 4. delete the packs that are no longer indexed.
/// Before anything is changed, every blob of every snapshot must be found in a pack that exists: a repository
/// that lacks one is left alone (check says what is wrong).
/// </summary>
public sealed class Pruner(Repository repository)
{
    /// <summary>Packs per index file written by prune.</summary>
    internal const int PacksPerIndexFile = 4096;

    /// <summary>Packs read at once while repacking; each holds a buffer of its largest needed blob.</summary>
    private const int RepackReaders = 4;

    public async Task<PruneResult> PruneAsync(PruneOptions options, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        options.Validate();
        var storage = repository.Storage;

        var stored = new Dictionary<PackId, long>();
        var strayNames = new List<StorageKey>();
        await foreach (var entry in storage.ListAsync(StorageKind.Pack, cancellationToken))
        {
            if (Hash256.TryParse(entry.Key.Name, out var hash))
            {
                stored[new PackId(hash)] = entry.Length;
            }
            else
            {
                strayNames.Add(entry.Key);
            }
        }

        // Every pack the index in force names, with all its entries (duplicates included), if it exists.
        var indexed = new Dictionary<PackId, List<BlobEntry>>();
        foreach (var (_, file) in repository.IndexFiles)
        {
            foreach (var pack in file.Packs)
            {
                if (stored.ContainsKey(pack.Pack))
                {
                    indexed[pack.Pack] = [.. pack.Blobs];
                }
            }
        }

        var snapshots = await repository.LoadAllSnapshotsAsync(cancellationToken);
        progress?.Report($"finding the blobs that {snapshots.Count} snapshots need");
        var used = await UsedBlobsAsync(snapshots.Select(s => s.Snapshot.Tree), cancellationToken);

        // Each needed blob is kept once, preferring packs that are the most used, so whole packs stay and
        // copies in mostly-waste packs are the ones dropped.
        var usedCount = indexed.ToDictionary(p => p.Key, p => p.Value.Count(e => used.Contains(e.Id)));
        var claimed = new Dictionary<PackId, List<BlobEntry>>();
        var owner = new HashSet<BlobId>();
        foreach (var (pack, entries) in indexed.OrderByDescending(p => (double)usedCount[p.Key] / Math.Max(1, p.Value.Count)))
        {
            var mine = new List<BlobEntry>();
            foreach (var entry in entries)
            {
                if (used.Contains(entry.Id) && owner.Add(entry.Id))
                {
                    mine.Add(entry);
                }
            }
            claimed[pack] = mine;
        }
        if (used.Count != owner.Count)
        {
            var missing = used.First(b => !owner.Contains(b));
            throw new ArcaException(ErrorCode.RepositoryDamaged,
                $"Blob {missing} is needed by a snapshot but is in no pack that exists; prune changed nothing.",
                "Run 'arca check' to see what is affected.");
        }

        var keep = new List<PackId>();
        var delete = new List<PackId>();
        var partly = new List<(PackId Pack, long Used, long Size)>();
        long usedBytes = 0;
        foreach (var (pack, entries) in indexed)
        {
            var mine = claimed[pack];
            var bytes = mine.Sum(e => (long)e.StoredLength);
            usedBytes += bytes;
            if (mine.Count == 0)
            {
                delete.Add(pack);
            }
            else if (mine.Count == entries.Count)
            {
                keep.Add(pack);
            }
            else
            {
                partly.Add((pack, bytes, stored[pack]));
            }
        }
        var unreferenced = stored.Keys.Where(p => !indexed.ContainsKey(p)).ToList();

        // Repack the most wasteful packs until what stays unused is within the allowance.
        var allowed = options.MaxUnused == 0 ? 0 : (long)(usedBytes * options.MaxUnused / (1 - options.MaxUnused));
        var unusedInPartly = partly.Sum(p => p.Size - p.Used);
        var repack = new List<PackId>();
        foreach (var (pack, usedInPack, size) in partly.OrderByDescending(p => (double)(p.Size - p.Used) / p.Size))
        {
            if (unusedInPartly <= allowed)
            {
                keep.Add(pack);
                continue;
            }
            repack.Add(pack);
            unusedInPartly -= size - usedInPack;
        }

        var bytesBefore = stored.Values.Sum();
        var gone = delete.Concat(repack).Concat(unreferenced).ToList();
        var result = new PruneResult
        {
            Snapshots = snapshots.Count,
            PacksBefore = stored.Count,
            BytesBefore = bytesBefore,
            UsedBytes = usedBytes,
            UnusedBytes = bytesBefore - usedBytes,
            PacksToDelete = delete.Count + unreferenced.Count,
            PacksToRepack = repack.Count,
            BytesToRepack = repack.Sum(p => claimed[p].Sum(e => (long)e.StoredLength)),
            UnreferencedPacks = unreferenced.Count,
            BytesToFree = gone.Sum(p => stored[p]) - repack.Sum(p => claimed[p].Sum(e => (long)e.StoredLength)),
            DryRun = options.DryRun,
        };
        // The index is rewritten only when something goes (or an earlier prune left work): rewriting it for
        // nothing would only churn.
        var indexNamesMissingPacks = repository.IndexFiles.Any(f => f.File.Packs.Any(p => !stored.ContainsKey(p.Pack)));
        var nothingToDo = gone.Count == 0 && strayNames.Count == 0 && repository.SupersededIndexFiles.Count == 0 && !indexNamesMissingPacks;
        if (options.DryRun || nothingToDo)
        {
            return result;
        }

        // 1. Copy what the packs to repack hold that is needed.
        var fresh = new BlobIndex();
        if (repack.Count > 0)
        {
            progress?.Report($"repacking {repack.Count} packs");
            var saver = new PackSaver(storage, repository.Key, fresh, repository.Settings.PackSize, repository.Settings.CompressionLevel,
                Math.Max(2, storage.Properties.Connections), writeIndex: false, cache: repository.Cache);
            try
            {
                // Several packs at once: on remote storage each download is a round trip and a server's work,
                // and one at a time left the uploads waiting for them.
                await Parallel.ForEachAsync(repack,
                    // No more readers than connections: a reader holds its response open while it waits for an upload.
                    new ParallelOptions { MaxDegreeOfParallelism = Math.Min(RepackReaders, Math.Max(1, storage.Properties.Connections)),
                        CancellationToken = cancellationToken },
                    async (pack, ct) => await CopyNeededBlobsAsync(pack, claimed[pack], saver, ct));
                await saver.FlushAsync(cancellationToken);
            }
            catch
            {
                await saver.DiscardAsync();
                throw;
            }
        }

        // 2. The new index: every pack that stays, all its entries, then the repacked copies.
        progress?.Report("writing the new index");
        var packs = keep.Select(p => new IndexFile.PackBlobs(p, indexed[p]))
            .Concat(fresh.ByPack().Select(p => new IndexFile.PackBlobs(p.Key, p.Value)))
            .ToList();
        var oldIndexFiles = repository.IndexFiles.Select(f => f.Name).Concat(repository.SupersededIndexFiles).ToList();
        var chunks = packs.Chunk(PacksPerIndexFile).ToList();
        if (chunks.Count == 0)
        {
            chunks.Add([]);
        }
        for (var i = 0; i < chunks.Count; i++)
        {
            var last = i == chunks.Count - 1;
            var file = new IndexFile(last ? [.. oldIndexFiles.Select(Hash256.Parse)] : [], chunks[i]);
            var bytes = SealedFile.Encode(repository.Key.Sealer, file.Encode(), compress: true);
            await storage.PutBytesAsync(new StorageKey(StorageKind.Index, Convert.ToHexStringLower(SHA256.HashData(bytes))), bytes,
                cancellationToken);
        }

        // 3. and 4.: the old index, then the packs it alone named.
        progress?.Report($"deleting {gone.Count} packs");
        foreach (var name in oldIndexFiles)
        {
            await storage.DeleteAsync(new StorageKey(StorageKind.Index, name), cancellationToken);
        }
        long freed = 0;
        await Parallel.ForEachAsync(gone,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, storage.Properties.Connections), CancellationToken = cancellationToken },
            async (pack, ct) =>
            {
                await storage.DeleteAsync(new StorageKey(StorageKind.Pack, pack.ToString()), ct);
                Interlocked.Add(ref freed, stored[pack]);
            });
        foreach (var stray in strayNames)
        {
            await storage.DeleteAsync(stray, cancellationToken);
        }
        repository.Cache?.Retain(packs.Select(p => p.Pack).ToHashSet());
        return result with { PacksWritten = fresh.PackCount, BytesFreed = freed - result.BytesToRepack };
    }

    /// <summary>
    /// Every blob the trees reach: the trees themselves and the content of every file. Read a level at a time,
    /// each level's trees in parallel: on remote storage every tree costs a round trip.
    /// </summary>
    private async Task<HashSet<BlobId>> UsedBlobsAsync(IEnumerable<BlobId> roots, CancellationToken cancellationToken)
    {
        var used = new HashSet<BlobId>();
        var level = roots.Where(used.Add).ToList();
        while (level.Count > 0)
        {
            var next = new List<BlobId>();
            await Parallel.ForEachAsync(level,
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, repository.Storage.Properties.Connections), CancellationToken = cancellationToken },
                async (treeId, ct) =>
                {
                    Trees.Tree tree;
                    try
                    {
                        tree = await repository.LoadTreeAsync(treeId, ct);
                    }
                    catch (BlobDamagedException ex)
                    {
                        throw new ArcaException(ErrorCode.RepositoryDamaged,
                            $"Tree {treeId} cannot be read ({ex.Message}); prune changed nothing.", "Run 'arca check' to see what is affected.", ex);
                    }
                    lock (used)
                    {
                        foreach (var node in tree.Nodes)
                        {
                            foreach (var blob in node.Content ?? [])
                            {
                                used.Add(blob);
                            }
                            if (node.Subtree is { } subtree && used.Add(subtree))
                            {
                                next.Add(subtree);
                            }
                        }
                    }
                });
            level = next;
        }
        return used;
    }

    /// <summary>
    /// Streams the part of the pack from its first needed blob to its last, and copies each needed blob, checked,
    /// into the saver. A read the storage retries streams again from the start; blobs already copied are then
    /// skipped by the saver.
    /// </summary>
    private async Task CopyNeededBlobsAsync(PackId pack, List<BlobEntry> needed, PackSaver saver, CancellationToken cancellationToken)
    {
        var ordered = needed.OrderBy(e => e.Offset).ToList();
        var start = (long)ordered[0].Offset;
        var end = ordered.Max(e => (long)e.Offset + e.StoredLength);
        var blob = BufferPool.Shared.Rent((int)ordered.Max(e => (long)e.StoredLength));
        var scratch = BufferPool.Shared.Rent((int)Math.Max(1, ordered.Max(e => (long)e.RawLength)));
        Exception? saveFailure = null;
        try
        {
            Task CopyAsync(Stream stream, CancellationToken ct) => SealedBlobs.ReadAsync(stream, start, ordered, blob, async (_, entry, sealedBlob) =>
            {
                // Checked before it is copied: a damaged blob must not live on in a new pack that looks sound.
                repository.OpenBlob(pack, entry, sealedBlob.Span, scratch);
                try
                {
                    await saver.SaveSealedAsync(entry, sealedBlob, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The writing side failed (staging, an upload): not a read the storage should retry.
                    saveFailure = ex;
                    throw new StorageException($"Could not copy blob {entry.Id}: {ex.Message}", isTransient: false, ex);
                }
            }, ct);
            // A tree pack is read from the cache when it holds it: its name was checked against its bytes. A copy that
            // went bad since is dropped, and the pack read from the repository.
            if (repository.Cache?.OpenRead(pack) is { } cached)
            {
                try
                {
                    await using (cached)
                    {
                        cached.Position = start;
                        await CopyAsync(cached, cancellationToken);
                    }
                    return;
                }
                catch (Exception ex) when (ex is BlobDamagedException or EndOfStreamException or IOException)
                {
                    repository.Cache.Forget(pack);
                }
            }
            await repository.Storage.ReadAsync(new StorageKey(StorageKind.Pack, pack.ToString()), start, end - start, CopyAsync,
                cancellationToken);
        }
        catch (StorageException) when (saveFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(saveFailure);
        }
        catch (BlobDamagedException ex)
        {
            throw new ArcaException(ErrorCode.RepositoryDamaged, $"{ex.Message}; prune stopped before changing the index.",
                "Run 'arca check --read-data' to see what is affected.", ex);
        }
        finally
        {
            BufferPool.Shared.Return(scratch);
            BufferPool.Shared.Return(blob);
        }
    }
}
