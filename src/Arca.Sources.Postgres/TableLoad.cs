using System.Security.Cryptography;
using System.Threading.Channels;
using Arca.Repo;
using Arca.Trees;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>
/// A table entry's rows on their way into <c>COPY ... FROM STDIN</c>. One reader task decodes the rows and hashes them
/// (the entry's checksum) into chunks of whole rows; one connection sends them (the lead's, <see cref="RunAsync"/>),
/// or, in a load started as joinable, as many as <see cref="TryJoin"/> adds, each in a COPY of its own. Every COPY
/// completes only once the whole stream has matched the checksum: rows that are not the ones backed up never land.
/// </summary>
/// <remarks>
/// Why join: the server parses a COPY's rows in one process, and on a large table that parse is most of a restore's
/// time. Two COPYs into one table run in two server processes: on the benchmark's items table (266 MB of rows) 1.8 s
/// against 3.0-3.5 s for one. A joinable load cannot freeze its rows (only one transaction can truncate the table),
/// so a table's first scan after it marks its pages; that cost 0.06 s on the same table's primary key build.
/// </remarks>
internal sealed class TableLoad
{
    /// <summary>Rows are handed from the reader to the connections in chunks of about this many bytes.</summary>
    private const int ChunkBytes = 1 << 20;

    private readonly Node _node;
    private readonly bool _digest;
    /// <summary>Whether the rows go as COPY's binary format (<see cref="BinaryCopy"/>), which the server parses faster.</summary>
    private readonly bool _binary;
    private readonly CancellationTokenSource _stop;
    private readonly Channel<Chunk> _chunks;
    private readonly Task<bool> _reader;
    private readonly List<Part> _joined = [];
    private readonly TaskCompletionSource<bool> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;
    private long _read;

    private TableLoad(IBlobLoader loader, Node node, bool joinable, bool digest, bool binary, CancellationToken cancellationToken)
    {
        _node = node;
        Joinable = joinable;
        _digest = digest;
        _binary = binary;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _chunks = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(2) { SingleReader = !joinable, SingleWriter = true });
        // Not Task.Run's token: a reader that never ran would never complete the channel its connections wait on.
        _reader = Task.Run(() => ReadAsync(loader, _stop.Token), CancellationToken.None);
    }

    public Node Node => _node;

    /// <summary>Whether other connections may join this load (it was started so: it does not freeze).</summary>
    public bool Joinable { get; }

    /// <summary>Whether <see cref="TryJoin"/> would take a connection now: the load is joinable and its rows are not all read.</summary>
    public bool CanJoin
    {
        get
        {
            lock (_joined)
            {
                return Joinable && !_closed && !_reader.IsCompleted && !_stop.IsCancellationRequested;
            }
        }
    }

    /// <summary>About how many bytes of rows are still to be read: what a connection that joined now would share in.</summary>
    public long Remaining => Math.Max(0, _node.Size - Interlocked.Read(ref _read));

    /// <summary>
    /// Begins reading <paramref name="node"/>'s rows. With <paramref name="joinable"/>, other connections may share the
    /// sending (<see cref="TryJoin"/>). With <paramref name="digest"/>, what is loaded is digested (it costs a hash of
    /// every row); else only counted. With <paramref name="binary"/> (which <see cref="BinaryCopy.FitsAsync"/> said), the
    /// rows go in COPY's binary format; the caller's COPY statements then get <c>FORMAT binary</c>.
    /// </summary>
    public static TableLoad Start(IBlobLoader loader, Node node, bool joinable, bool digest, bool binary, CancellationToken cancellationToken) =>
        new(loader, node, joinable, digest, binary, cancellationToken);

    /// <summary>Loads <paramref name="node"/>'s rows, as text, over one connection (see <see cref="RunAsync(NpgsqlConnection, string, TableName?, CancellationToken)"/>).</summary>
    public static Task<RowMultiset> RunAsync(IBlobLoader loader, Node node, NpgsqlConnection connection, string copy, TableName? freeze,
        bool digest, CancellationToken cancellationToken) =>
        Start(loader, node, joinable: false, digest, binary: false, cancellationToken).RunAsync(connection, copy, freeze, cancellationToken);

    /// <summary>
    /// Sends rows with <paramref name="copy"/> on <paramref name="connection"/> until there are no more, then waits for
    /// the connections that joined; returns what all of them loaded: the rows' digest, or only their count.
    /// With <paramref name="freeze"/> (the table COPY loads, new and empty; not in a joinable load), that table is truncated
    /// and loaded in one transaction of this method's own, with COPY's FREEZE: the rows are written as already visible to
    /// all, so the first scan after the load (an index build) does not have to mark every page and write it again.
    /// In a joinable load each connection's COPY runs in a transaction of its own, and none commits before every COPY has
    /// completed: a row the server refuses on one connection leaves no rows from the others.
    /// </summary>
    public async Task<RowMultiset> RunAsync(NpgsqlConnection connection, string copy, TableName? freeze, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        RowMultiset loaded = default;
        NpgsqlTransaction? transaction = null;
        try
        {
            try
            {
                if (freeze is not null && Joinable)
                {
                    throw new InvalidOperationException("A load others may join cannot freeze its rows.");
                }
                transaction = freeze is null && !Joinable ? null : await connection.BeginTransactionAsync(cancellationToken);
                if (freeze is not null)
                {
                    await PostgresErrors.ExecuteAsync(connection, $"TRUNCATE ONLY {freeze.Value.Sql}", cancellationToken);
                }
                loaded = await SendAsync(connection, copy + CopyOptions(freeze is not null), cancellationToken);
            }
            catch (Exception ex)
            {
                failure = ex;
                await _stop.CancelAsync();
            }
            Part[] joined;
            lock (_joined)
            {
                _closed = true;
                joined = [.. _joined];
            }
            await Task.WhenAll(joined.Select(j => (Task)j.Copied).Append(_reader)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var commit = failure is null && joined.All(j => j.Copied.IsCompletedSuccessfully);
            _decision.SetResult(commit);
            if (transaction is not null && commit)
            {
                try
                {
                    // Once every COPY has completed, all commit: a cancel now would leave some connections' rows in.
                    await transaction.CommitAsync(CancellationToken.None);
                }
                catch (Exception ex)
                {
                    failure = ex;
                }
            }
            await Task.WhenAll(joined.Select(j => j.Finished)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            // When a joined connection failed first, the rest stopped because of it, and its error is the one to report.
            var errors = new[] { failure }.Concat(joined.SelectMany(j => new[] { ErrorOf(j.Copied), ErrorOf(j.Finished) })).OfType<Exception>().ToList();
            if ((errors.FirstOrDefault(e => e is not OperationCanceledException) ?? errors.FirstOrDefault()) is { } cause)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
            }
            foreach (var part in joined)
            {
                loaded = loaded.Plus(part.Copied.Result);
            }
            return loaded;
        }
        finally
        {
            _decision.TrySetResult(false);
            if (transaction is not null)
            {
                await transaction.DisposeAsync(); // rolls back what was not committed
            }
            _stop.Dispose();
        }
    }

    /// <summary>
    /// Adds <paramref name="connection"/> to a joinable load still running: it sends a share of the rows left, with
    /// <paramref name="copy"/>, in a transaction that commits when the lead's does. Null if the load can no longer be
    /// joined. The task it returns never fails: it says whether this connection's part went through, and the lead
    /// (<see cref="RunAsync(NpgsqlConnection, string, TableName?, CancellationToken)"/>) reports what went wrong. After
    /// false, the connection may be broken: it is no use for more work.
    /// </summary>
    public Task<bool>? TryJoin(NpgsqlConnection connection, string copy, CancellationToken cancellationToken)
    {
        lock (_joined)
        {
            if (!CanJoin)
            {
                return null;
            }
            var copied = new TaskCompletionSource<RowMultiset>(TaskCreationOptions.RunContinuationsAsynchronously);
            var finished = Task.Run(async () =>
            {
                NpgsqlTransaction? transaction = null;
                try
                {
                    try
                    {
                        transaction = await connection.BeginTransactionAsync(cancellationToken);
                        copied.SetResult(await SendAsync(connection, copy + CopyOptions(freeze: false), cancellationToken));
                    }
                    catch (Exception ex)
                    {
                        await _stop.CancelAsync();
                        copied.SetException(ex);
                        return;
                    }
                    if (await _decision.Task)
                    {
                        await transaction.CommitAsync(CancellationToken.None); // see the lead's commit
                    }
                }
                finally
                {
                    if (transaction is not null)
                    {
                        await transaction.DisposeAsync(); // rolls back what was not committed
                    }
                }
            }, CancellationToken.None);
            var part = new Part(copied.Task, finished);
            _joined.Add(part);
            return finished.ContinueWith(f => f.IsCompletedSuccessfully && copied.Task.IsCompletedSuccessfully, CancellationToken.None,
                TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <summary>A joined connection's share: its COPY completed (or failed), then its transaction ended.</summary>
    private sealed record Part(Task<RowMultiset> Copied, Task Finished);

    private static Exception? ErrorOf(Task task) =>
        task.IsFaulted ? task.Exception!.InnerException : task.IsCanceled ? new OperationCanceledException() : null;

    /// <summary>The options of this load's COPY statements: " (FORMAT binary, FREEZE)", or less, or nothing.</summary>
    private string CopyOptions(bool freeze) => (_binary, freeze) switch
    {
        (true, true) => " (FORMAT binary, FREEZE)",
        (true, false) => " (FORMAT binary)",
        (false, true) => " (FREEZE)",
        _ => "",
    };

    /// <summary>One connection's COPY: takes chunks until none are left, and completes once the reader has matched the checksum.</summary>
    private async Task<RowMultiset> SendAsync(NpgsqlConnection connection, string copy, CancellationToken cancellationToken)
    {
        var info = _node.Table!;
        var loaded = new RowMultiset.Builder(info.Columns.Count);
        var binary = _binary ? BinaryCopy.For(info)! : null;
        var converted = binary is null ? null : new BinaryCopy.Output();
        // Text goes through Npgsql's text writer; binary through a raw stream, which refuses a COPY in text format.
        var writer = binary is null ? (NpgsqlCopyTextWriter)await connection.BeginTextImportAsync(copy, cancellationToken) : null;
        var rawCopy = binary is null ? null : await connection.BeginRawBinaryCopyAsync(copy, cancellationToken);
        var raw = writer?.BaseStream ?? rawCopy!;
        var complete = false;
        try
        {
            if (binary is not null)
            {
                await raw.WriteAsync(BinaryCopy.Header.ToArray(), cancellationToken);
            }
            await foreach (var chunk in _chunks.Reader.ReadAllAsync(cancellationToken))
            {
                try
                {
                    var rows = chunk.Buffer.AsMemory(0, chunk.Length);
                    loaded.AddRows(rows.Span, _digest);
                    await raw.WriteAsync(binary is null ? rows : binary.ToBinary(rows.Span, converted!), cancellationToken);
                }
                finally
                {
                    BufferPool.Shared.Return(chunk.Buffer);
                }
            }
            if (binary is not null)
            {
                await raw.WriteAsync(BinaryCopy.Trailer.ToArray(), cancellationToken);
            }
            if (!await _reader)
            {
                throw new ArcaException(ErrorCode.RepositoryDamaged, $"The rows of {info.QualifiedName} read from the snapshot do not match its checksum; none of them were written.",
                    "Run 'arca check --read-data' to find the damage.");
            }
            complete = true;
        }
        finally
        {
            if (!complete)
            {
                await _stop.CancelAsync();
                // Disposing the writer would complete the COPY: cancel it, so the rows never land. What went wrong is
                // already on its way up; a connection broken by it may fail the cancel too, which adds nothing.
                try
                {
                    await (writer is not null ? writer.CancelAsync() : rawCopy!.CancelAsync());
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                }
                await ((Task)_reader).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                // A cancelled COPY has ended: disposing its writer may say so, and must not hide the error on its way up.
                try
                {
                    await (writer is not null ? writer.DisposeAsync() : raw.DisposeAsync());
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                }
            }
            else
            {
                // Completes the COPY (the text writer's stream is its base; disposing either ends the COPY).
                await (writer is not null ? writer.DisposeAsync() : raw.DisposeAsync());
            }
        }
        return loaded.Result;
    }

    private sealed record Chunk(byte[] Buffer, int Length);

    /// <summary>Decodes the rows into chunks that each end at a row's end; true if they matched the entry's checksum.</summary>
    private async Task<bool> ReadAsync(IBlobLoader loader, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadChunksAsync(loader, _chunks.Writer, cancellationToken);
        }
        finally
        {
            _chunks.Writer.TryComplete(); // whatever failed (a damaged delta entry fails before the first read), no connection waits on
        }
    }

    private async Task<bool> ReadChunksAsync(IBlobLoader loader, ChannelWriter<Chunk> chunks, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var content = RowDelta.OpenRows(loader, _node);
        var buffer = BufferPool.Shared.Rent(ChunkBytes);
        var filled = 0;
        try
        {
            while (true)
            {
                var n = await content.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                sha.AppendData(buffer, filled, n);
                filled += n;
                Interlocked.Add(ref _read, n);
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
        }
        return string.Equals(Convert.ToHexStringLower(sha.GetHashAndReset()), _node.Table!.Checksum, StringComparison.Ordinal);
    }
}
