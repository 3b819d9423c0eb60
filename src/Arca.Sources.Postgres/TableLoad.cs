using System.Security.Cryptography;
using System.Threading.Channels;
using Arca.Repo;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>
/// Streams a table entry's rows into <c>COPY ... FROM STDIN</c> on one connection. A reader task decodes the rows
/// and hashes them (the entry's checksum) while the connection sends the previous chunk, and the COPY completes only
/// once the whole stream has matched the checksum: rows that are not the ones backed up never land.
/// </summary>
internal static class TableLoad
{
    /// <summary>Rows are handed from the reader to the connection in chunks of about this many bytes.</summary>
    private const int ChunkBytes = 1 << 20;

    /// <summary>
    /// Loads <paramref name="node"/>'s rows with <paramref name="copy"/> and returns what was loaded: the rows' digest
    /// if <paramref name="digest"/> is set (it costs a hash of every row), else only their count.
    /// With <paramref name="freeze"/> (the table COPY loads, new and empty), that table is truncated and loaded in one
    /// transaction of this method's own, with COPY's FREEZE: the rows are written as already visible to all, so the
    /// first scan after the load (an index build) does not have to mark every page and write it again. It made a
    /// whole-database restore of the benchmark fixture about 1.2 s faster, more than loading one table over two
    /// connections did (which cannot freeze: only one transaction can truncate).
    /// </summary>
    public static async Task<RowMultiset> RunAsync(IBlobLoader loader, Node node, NpgsqlConnection connection, string copy, TableName? freeze,
        bool digest, CancellationToken cancellationToken)
    {
        var info = node.Table!;
        await using var transaction = freeze is null ? null : await connection.BeginTransactionAsync(cancellationToken);
        if (freeze is not null)
        {
            await PostgresErrors.ExecuteAsync(connection, $"TRUNCATE ONLY {freeze.Value.Sql}", cancellationToken);
            copy += " (FREEZE)";
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var chunks = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        var reader = Task.Run(() => ReadAsync(loader, node, chunks.Writer, stop.Token), stop.Token);
        var loaded = new RowMultiset.Builder(info.Columns.Count);
        var writer = (NpgsqlCopyTextWriter)await connection.BeginTextImportAsync(copy, cancellationToken);
        var complete = false;
        try
        {
            var raw = writer.BaseStream;
            await foreach (var chunk in chunks.Reader.ReadAllAsync(cancellationToken))
            {
                try
                {
                    loaded.AddRows(chunk.Buffer.AsSpan(0, chunk.Length), digest);
                    await raw.WriteAsync(chunk.Buffer.AsMemory(0, chunk.Length), cancellationToken);
                }
                finally
                {
                    BufferPool.Shared.Return(chunk.Buffer);
                }
            }
            if (!await reader)
            {
                throw new ArcaException(ErrorCode.RepositoryDamaged, $"The rows of {info.QualifiedName} read from the snapshot do not match its checksum; nothing was written.",
                    "Run 'arca check --read-data' to find the damage.");
            }
            complete = true;
        }
        finally
        {
            if (!complete)
            {
                await stop.CancelAsync();
                // Disposing the writer would complete the COPY: cancel it, so the rows never land. What went wrong is
                // already on its way up; a connection broken by it may fail the cancel too, which adds nothing.
                try
                {
                    await writer.CancelAsync();
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                }
                await reader.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                // A cancelled COPY has ended: disposing its writer may say so, and must not hide the error on its way up.
                try
                {
                    await writer.DisposeAsync();
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                }
            }
            else
            {
                await writer.DisposeAsync();
            }
        }
        if (transaction is not null)
        {
            await transaction.CommitAsync(cancellationToken);
        }
        return loaded.Result;
    }

    private sealed record Chunk(byte[] Buffer, int Length);

    /// <summary>Decodes the rows into chunks that each end at a row's end; true if they matched the entry's checksum.</summary>
    private static async Task<bool> ReadAsync(IBlobLoader loader, Node node, ChannelWriter<Chunk> chunks, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var content = RowDelta.OpenRows(loader, node);
        var buffer = BufferPool.Shared.Rent(ChunkBytes);
        var filled = 0;
        try
        {
            while (true)
            {
                var n = await content.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                sha.AppendData(buffer, filled, n);
                filled += n;
                if (n > 0 && filled < buffer.Length)
                {
                    continue;
                }
                // Hand out whole rows only, so the digest can take each chunk alone; at the end, whatever is left.
                var end = n == 0 ? filled : buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                if (end == 0 && n > 0)
                {
                    // One row longer than the buffer: grow it until the row's end is in.
                    var bigger = BufferPool.Shared.Rent(buffer.Length * 2);
                    Buffer.BlockCopy(buffer, 0, bigger, 0, filled);
                    BufferPool.Shared.Return(buffer);
                    buffer = bigger;
                    continue;
                }
                // What follows the last whole row starts the next chunk; after a grown buffer it can itself pass ChunkBytes.
                var rest = filled - end;
                var next = BufferPool.Shared.Rent(Math.Max(ChunkBytes, rest));
                Buffer.BlockCopy(buffer, end, next, 0, rest);
                var full = buffer;
                buffer = next;
                filled = rest;
                if (end > 0)
                {
                    await chunks.WriteAsync(new Chunk(full, end), cancellationToken);
                }
                else
                {
                    BufferPool.Shared.Return(full);
                }
                if (n == 0)
                {
                    break;
                }
            }
        }
        finally
        {
            BufferPool.Shared.Return(buffer);
            chunks.TryComplete();
        }
        return string.Equals(Convert.ToHexStringLower(sha.GetHashAndReset()), node.Table!.Checksum, StringComparison.Ordinal);
    }
}
