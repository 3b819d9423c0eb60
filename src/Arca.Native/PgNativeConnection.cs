using System.Runtime.InteropServices;
using Arca.Native.Interop;

namespace Arca.Native;

/// <summary>An error the server (or libpq) reported, with the server's SQLSTATE when there is one.</summary>
public sealed class PgNativeException(string message, string? sqlState, string? detail, string? hint, string? severity)
    : Exception(message)
{
    public string? SqlState { get; } = sqlState;
    public string? Detail { get; } = detail;
    public string? Hint { get; } = hint;
    public string? Severity { get; } = severity;
}

/// <summary>
/// A libpq connection, used where Npgsql's per-message overhead dominates: reading COPY output, where the
/// server sends one message per row. libpq hands each row over in one call of a few dozen nanoseconds; Npgsql
/// spends about a microsecond and a half per row, which at a million rows doubled the CPU a backup took.
/// Calls block the calling thread (libpq's synchronous API): callers run it on a thread of its own.
/// Not thread-safe; one COPY at a time.
/// </summary>
public sealed class PgNativeConnection : IDisposable, IAsyncDisposable
{
    private nint _conn;
    private unsafe byte* _row;
    private int _rowLength;
    private int _rowOffset;
    private bool _copying;

    private PgNativeConnection(nint conn) => _conn = conn;

    /// <summary>Connects with a libpq connection string (<c>host=... port=... dbname=...</c>).</summary>
    public static PgNativeConnection Open(string conninfo)
    {
        nint conn;
        try
        {
            conn = LibPq.ConnectDb(conninfo);
        }
        catch (DllNotFoundException ex)
        {
            throw new PgNativeException($"libpq is not installed ({ex.Message}); install Debian's libpq5.", null, null, null, null);
        }
        if (conn == 0)
        {
            throw new PgNativeException("libpq could not allocate a connection.", null, null, null, null);
        }
        if (LibPq.Status(conn) != LibPq.ConnectionOk)
        {
            var message = Marshal.PtrToStringUTF8(LibPq.ErrorMessage(conn))?.Trim() ?? "connection failed";
            LibPq.Finish(conn);
            throw new PgNativeException(message, null, null, null, null);
        }
        return new PgNativeConnection(conn);
    }

    /// <summary>Runs statements; returns the first column of the first row of the last result, if any.</summary>
    public string? Execute(string sql)
    {
        ObjectDisposedException.ThrowIf(_conn == 0, this);
        ThrowIfCopying();
        var result = LibPq.Exec(_conn, sql);
        try
        {
            var status = LibPq.ResultStatus(result);
            if (status != LibPq.CommandOk && status != LibPq.TuplesOk)
            {
                throw ErrorOf(result);
            }
            return status == LibPq.TuplesOk && LibPq.TupleCount(result) > 0 ? Marshal.PtrToStringUTF8(LibPq.GetValue(result, 0, 0)) : null;
        }
        finally
        {
            LibPq.Clear(result);
        }
    }

    /// <summary>
    /// Starts <c>COPY ... TO STDOUT</c>; read the rows with <see cref="ReadCopy"/> until it returns 0. Sent through
    /// the extended protocol, where the server takes exactly one statement: text from the user inside it (a row
    /// filter) cannot smuggle in a second one.
    /// </summary>
    public void StartCopyOut(string copySql)
    {
        ObjectDisposedException.ThrowIf(_conn == 0, this);
        ThrowIfCopying();
        var result = LibPq.ExecParams(_conn, copySql, 0, 0, 0, 0, 0, 0);
        try
        {
            if (LibPq.ResultStatus(result) != LibPq.CopyOut)
            {
                throw ErrorOf(result);
            }
        }
        finally
        {
            LibPq.Clear(result);
        }
        _copying = true;
    }

    /// <summary>
    /// A COPY not read to its end leaves rows in libpq and here: a statement sent then would see them before its own.
    /// </summary>
    private unsafe void ThrowIfCopying()
    {
        if (_copying || _row != null)
        {
            throw new InvalidOperationException("A COPY on this connection has not been read to its end.");
        }
    }

    /// <summary>Fills <paramref name="destination"/> with COPY output (whole rows and parts of rows); 0 at the end.</summary>
    public unsafe int ReadCopy(Span<byte> destination)
    {
        var written = 0;
        while (written < destination.Length)
        {
            if (_row != null)
            {
                var n = Math.Min(_rowLength - _rowOffset, destination.Length - written);
                new ReadOnlySpan<byte>(_row + _rowOffset, n).CopyTo(destination[written..]);
                written += n;
                _rowOffset += n;
                if (_rowOffset == _rowLength)
                {
                    LibPq.FreeMem(_row);
                    _row = null;
                }
                continue;
            }
            if (!_copying)
            {
                break;
            }
            byte* buffer;
            var length = LibPq.GetCopyData(_conn, &buffer, 0);
            if (length > 0)
            {
                _row = buffer;
                _rowLength = length;
                _rowOffset = 0;
            }
            else if (length == -1)
            {
                _copying = false;
                FinishCommand();
            }
            else
            {
                _copying = false;
                var message = Marshal.PtrToStringUTF8(LibPq.ErrorMessage(_conn))?.Trim();
                FinishCommand();
                throw new PgNativeException(message ?? "COPY failed", null, null, null, null);
            }
        }
        return written;
    }

    /// <summary>Collects the results that end a command, throwing the server's error if it failed.</summary>
    private void FinishCommand()
    {
        PgNativeException? error = null;
        nint result;
        while ((result = LibPq.GetResult(_conn)) != 0)
        {
            var status = LibPq.ResultStatus(result);
            if (status != LibPq.CommandOk && status != LibPq.TuplesOk && error is null)
            {
                error = ErrorOf(result);
            }
            LibPq.Clear(result);
        }
        if (error is not null)
        {
            throw error;
        }
    }

    /// <summary>Asks the server to stop what this connection runs (safe from another thread).</summary>
    public void Cancel()
    {
        if (_conn != 0)
        {
            LibPq.RequestCancel(_conn);
        }
    }

    private static PgNativeException ErrorOf(nint result)
    {
        string? Field(byte code) => Marshal.PtrToStringUTF8(LibPq.ResultErrorField(result, code));
        var message = Field(LibPq.DiagMessagePrimary) ?? Marshal.PtrToStringUTF8(LibPq.ResultErrorMessage(result))?.Trim() ?? "the statement failed";
        return new PgNativeException(message, Field(LibPq.DiagSqlState), Field(LibPq.DiagMessageDetail), Field(LibPq.DiagMessageHint), Field(LibPq.DiagSeverity));
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public unsafe void Dispose()
    {
        if (_row != null)
        {
            LibPq.FreeMem(_row);
            _row = null;
        }
        if (_conn != 0)
        {
            LibPq.Finish(_conn);
            _conn = 0;
        }
    }
}
