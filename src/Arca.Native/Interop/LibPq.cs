using System.Runtime.InteropServices;

namespace Arca.Native.Interop;

/// <summary>The few libpq calls Arca makes: connect, run a statement, and read COPY data.</summary>
internal static partial class LibPq
{
    private const string Library = "libpq.so.5";

    internal const int ConnectionOk = 0;
    internal const int CommandOk = 1;
    internal const int TuplesOk = 2;
    internal const int CopyOut = 3;
    internal const byte DiagSqlState = (byte)'C';
    internal const byte DiagMessagePrimary = (byte)'M';
    internal const byte DiagMessageDetail = (byte)'D';
    internal const byte DiagMessageHint = (byte)'H';
    internal const byte DiagSeverity = (byte)'V';

    [LibraryImport(Library, EntryPoint = "PQconnectdb", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint ConnectDb(string conninfo);

    [LibraryImport(Library, EntryPoint = "PQstatus")]
    internal static partial int Status(nint conn);

    [LibraryImport(Library, EntryPoint = "PQerrorMessage")]
    internal static partial nint ErrorMessage(nint conn);

    [LibraryImport(Library, EntryPoint = "PQfinish")]
    internal static partial void Finish(nint conn);

    [LibraryImport(Library, EntryPoint = "PQexec", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint Exec(nint conn, string query);

    [LibraryImport(Library, EntryPoint = "PQexecParams", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint ExecParams(nint conn, string command, int nParams, nint paramTypes, nint paramValues, nint paramLengths,
        nint paramFormats, int resultFormat);

    [LibraryImport(Library, EntryPoint = "PQresultStatus")]
    internal static partial int ResultStatus(nint result);

    [LibraryImport(Library, EntryPoint = "PQresultErrorField")]
    internal static partial nint ResultErrorField(nint result, int fieldCode);

    [LibraryImport(Library, EntryPoint = "PQresultErrorMessage")]
    internal static partial nint ResultErrorMessage(nint result);

    [LibraryImport(Library, EntryPoint = "PQgetvalue")]
    internal static partial nint GetValue(nint result, int row, int column);

    [LibraryImport(Library, EntryPoint = "PQntuples")]
    internal static partial int TupleCount(nint result);

    [LibraryImport(Library, EntryPoint = "PQclear")]
    internal static partial void Clear(nint result);

    [LibraryImport(Library, EntryPoint = "PQgetResult")]
    internal static partial nint GetResult(nint conn);

    [LibraryImport(Library, EntryPoint = "PQgetCopyData")]
    internal static unsafe partial int GetCopyData(nint conn, byte** buffer, int async);

    [LibraryImport(Library, EntryPoint = "PQfreemem")]
    internal static unsafe partial void FreeMem(void* pointer);

    [LibraryImport(Library, EntryPoint = "PQrequestCancel")]
    internal static partial int RequestCancel(nint conn);
}
