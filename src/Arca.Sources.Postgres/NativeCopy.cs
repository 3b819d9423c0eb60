using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Threading.Channels;
using Arca.Native;
using Arca.Storage;

namespace Arca.Sources.Postgres;

/// <summary>
/// COPY output read through libpq (<see cref="PgNativeConnection"/>) as a stream. Reads block their thread
/// inside libpq, which is why the readers that use it each run on a task of their own.
/// </summary>
internal sealed class NativeCopyStream(PgNativeConnection connection) : ReadOnlyStream
{
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer) => connection.ReadCopy(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var registration = cancellationToken.Register(connection.Cancel);
        return ValueTask.FromResult(connection.ReadCopy(buffer.Span));
    }
}

internal static class NativeConnections
{
    /// <summary>
    /// A libpq connection to <paramref name="location"/>, its session set up as <see cref="PostgresErrors.OpenAsync"/>
    /// sets up Npgsql's (the same value formats, so the same COPY text).
    /// </summary>
    public static PgNativeConnection Open(PostgresLocation location)
    {
        var conninfo = new StringBuilder();
        void Add(string key, string value) => conninfo.Append(key).Append("='").Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)).Append("' ");
        Add("host", location.Host);
        Add("port", location.Port.ToString(CultureInfo.InvariantCulture));
        Add("user", location.User);
        Add("dbname", location.Database);
        Add("application_name", "arca");
        Add("connect_timeout", "15");
        if (location.Password is not null)
        {
            Add("password", location.Password);
        }
        if (location.SslMode is not null)
        {
            Add("sslmode", location.SslMode);
        }
        PgNativeConnection connection;
        try
        {
            connection = PgNativeConnection.Open(conninfo.ToString());
        }
        catch (PgNativeException ex)
        {
            throw new ArcaException(ErrorCode.DatabaseUnreachable, $"A second connection to {location.Display} failed: {ex.Message.Split('\n')[0]}",
                "Check the server's connection limit and log, then run the command again.", ex);
        }
        try
        {
            connection.Execute(PostgresErrors.SessionSettings);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        return connection;
    }
}

/// <summary>
/// COPY output read ahead of its reader, on a task of its own, in chunks of 1 MiB: <c>capacity</c> of them waiting in
/// memory, and two more in hand (the one being filled, the one being read). The server goes on sending rows while the
/// reader is not yet ready for them (a large table's rows start while its key scan runs beside them, see
/// <see cref="DatabaseRead.ScannedTable"/>); past the bound it waits, as it would for a reader that reads directly.
/// <para>
/// Disposing it before the end stops the COPY (a cancel request) and reads what is left of it: the connection is then
/// in a failed transaction, which its owner must end before using it again.
/// </para>
/// </summary>
internal sealed class CopyReadAhead : ReadOnlyStream
{
    private const int ChunkBytes = 1 << 20;

    private readonly PgNativeConnection _connection;
    private readonly Channel<(byte[] Chunk, int Length)> _chunks;
    private readonly ConcurrentBag<byte[]> _spare = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;
    private Exception? _failure;
    private byte[]? _current;
    private int _offset;
    private int _length;
    private bool _ended;
    private bool _disposed;

    /// <summary>Starts reading the COPY that <paramref name="connection"/> has started (<see cref="PgNativeConnection.StartCopyOut"/>).</summary>
    public CopyReadAhead(PgNativeConnection connection, int capacity)
    {
        _connection = connection;
        _chunks = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        _reading = Task.Run(ReadAheadAsync, CancellationToken.None);
    }

    private async Task ReadAheadAsync()
    {
        try
        {
            while (true)
            {
                var chunk = _spare.TryTake(out var spare) ? spare : new byte[ChunkBytes];
                var length = _connection.ReadCopy(chunk); // blocks in libpq until the chunk is full or the COPY ends
                if (length == 0)
                {
                    break;
                }
                await _chunks.Writer.WriteAsync((chunk, length), _stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            Drain();
        }
        catch (Exception ex)
        {
            _failure = ex;
        }
        _chunks.Writer.TryComplete();
    }

    /// <summary>
    /// Reads a stopped COPY to its end, so that the connection can take a statement again: once the server has the
    /// cancel, it ends the COPY with an error; the rows it sent before that are dropped.
    /// </summary>
    private void Drain()
    {
        var sink = new byte[ChunkBytes];
        try
        {
            while (_connection.ReadCopy(sink) > 0)
            {
            }
        }
        catch (PgNativeException)
        {
            // the cancel's error: the COPY has ended
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _length)
        {
            if (_current is not null)
            {
                _spare.Add(_current);
                _current = null;
            }
            if (_ended)
            {
                return 0;
            }
            if (!await _chunks.Reader.WaitToReadAsync(cancellationToken) || !_chunks.Reader.TryRead(out var next))
            {
                _ended = true;
                if (_failure is not null)
                {
                    ExceptionDispatchInfo.Throw(_failure);
                }
                continue;
            }
            (_current, _offset, _length) = (next.Chunk, 0, next.Length);
        }
        var n = Math.Min(buffer.Length, _length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer.Span);
        _offset += n;
        return n;
    }

    public override int Read(Span<byte> buffer) => throw new NotSupportedException("Read it asynchronously: its rows arrive on another thread.");

    public override async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_reading.IsCompleted)
        {
            _connection.Cancel();
            await _stop.CancelAsync();
        }
        await _reading;
        _stop.Dispose();
        // The chunks go now, not when whatever holds this stream lets go of it.
        while (_chunks.Reader.TryRead(out _))
        {
        }
        _spare.Clear();
        _current = null;
        await base.DisposeAsync();
    }

    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
}
