using System.Security.Cryptography;
using Arca.Repo;
using Arca.Repo.Chunking;
using Arca.Trees;

namespace Arca.Backup;

/// <summary>What <see cref="ContentSaver"/> stored for one stream; <see cref="Sha256Hex"/> is null when the saver was told not to hash.</summary>
public sealed record SavedContent(IReadOnlyList<BlobId> Content, long Size, string? Sha256Hex, long BlobsAdded, long BytesAdded)
{
    /// <summary>A file entry holding this content, made by Arca now (not read from disk): owned by whoever runs the backup.</summary>
    public Node ToFileNode(string name, uint mode, long timeNs) => new()
    {
        Name = name,
        Type = NodeType.File,
        Mode = mode,
        Uid = Native.Posix.EffectiveUserId,
        Gid = Native.Posix.EffectiveGroupId,
        Size = Size,
        ModifyTimeNs = timeNs,
        ChangeTimeNs = timeNs,
        Content = Content,
    };
}

/// <summary>
/// Stores a stream of unknown length (a table's rows, a command's output) as the content of one entry:
/// chunked by content, each new chunk compressed and sealed on a worker while the next one is read, so the
/// producer on the other end of the stream (a database server, a command) is never kept waiting for long.
/// Also hashes the whole stream with SHA-256, for sources that record a checksum of what they read.
/// </summary>
/// <param name="compressionLevel">A zstd level to use instead of the repository's, or null for the repository's.</param>
/// <param name="hashStream">Whether to hash the whole stream (a source that checks what it read another way need not pay for it).</param>
public sealed class ContentSaver(IBlobSaver saver, Chunker chunker, int? compressionLevel = null, bool hashStream = true)
{
    /// <summary>Chunks being stored at once: one per core keeps them all busy, and bounds memory to as many chunks.</summary>
    private static readonly int InFlight = Math.Max(2, Environment.ProcessorCount);

    /// <param name="observe">Sees every byte in order, on the reading thread (to count rows, say).</param>
    public async Task<SavedContent> SaveAsync(Stream source, Action<ReadOnlySpan<byte>>? observe, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunkTasks = new List<Task<BlobId>>();
        using var slots = new SemaphoreSlim(InFlight, InFlight);
        long size = 0, added = 0, addedBytes = 0;
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Exception? readError = null;
        try
        {
            using var chunks = new StreamChunker(source, chunker, BufferPool.Shared);
            while (await chunks.NextAsync(failed.Token) is { } chunk)
            {
                if (hashStream)
                {
                    sha.AppendData(chunk.Span);
                }
                observe?.Invoke(chunk.Span);
                size += chunk.Length;
                // The chunker reuses its buffer on the next call: the worker gets a copy.
                var copy = BufferPool.Shared.Rent(chunk.Length);
                chunk.Span.CopyTo(copy);
                var length = chunk.Length;
                await slots.WaitAsync(failed.Token);
                chunkTasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        var data = copy.AsMemory(0, length);
                        var id = saver.IdOf(data.Span);
                        if (!saver.HasBlob(id) && await (compressionLevel is { } level
                                ? saver.SaveBlobAsync(BlobType.Data, id, data, level, failed.Token)
                                : saver.SaveBlobAsync(BlobType.Data, id, data, failed.Token)))
                        {
                            Interlocked.Increment(ref added);
                            Interlocked.Add(ref addedBytes, length);
                        }
                        return id;
                    }
                    catch
                    {
                        await failed.CancelAsync();
                        throw;
                    }
                    finally
                    {
                        BufferPool.Shared.Return(copy);
                        slots.Release();
                    }
                }, CancellationToken.None));
            }
        }
        catch (Exception ex)
        {
            readError = ex;
            await failed.CancelAsync();
        }
        // Every worker ends before this method returns: none may outlive the buffers it was given. A worker's
        // failure is the cause to report when reading stopped only because of it.
        var workers = Task.WhenAll(chunkTasks);
        try
        {
            await workers;
        }
        catch when (readError is not null && workers.Exception?.InnerExceptions.All(e => e is OperationCanceledException) == true)
        {
        }
        if (readError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(readError).Throw();
        }
        var ids = new List<BlobId>(chunkTasks.Count);
        foreach (var task in chunkTasks)
        {
            ids.Add(await task);
        }
        return new SavedContent(ids, size, hashStream ? Convert.ToHexStringLower(sha.GetHashAndReset()) : null, added, addedBytes);
    }
}
