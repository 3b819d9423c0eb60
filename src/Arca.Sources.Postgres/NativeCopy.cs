using System.Globalization;
using System.Text;
using Arca.Native;

namespace Arca.Sources.Postgres;

/// <summary>
/// COPY output read through libpq (<see cref="PgNativeConnection"/>) as a stream. Reads block their thread
/// inside libpq, which is why the readers that use it each run on a task of their own.
/// </summary>
internal sealed class NativeCopyStream(PgNativeConnection connection) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => connection.ReadCopy(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => connection.ReadCopy(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var registration = cancellationToken.Register(connection.Cancel);
        return ValueTask.FromResult(connection.ReadCopy(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
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
